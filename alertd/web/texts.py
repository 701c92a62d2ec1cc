"""The words of the pages, in French and English: plain, short, the same meaning in both."""

from __future__ import annotations

LANGUAGES = ("fr", "en")

_TEXTS: dict[str, tuple[str, str]] = {
    "site": ("Alertes par SMS", "Alerts by text message"),
    "other_language": ("English", "Français"),
    "other_language_label": ("Read this page in English", "Lire cette page en français"),
    "home_title": ("Recevoir les alertes par SMS", "Get alerts by text message"),
    "home_intro": (
        "Inscrivez votre téléphone portable pour recevoir les alertes de votre commune "
        "(inondation, accident industriel…) et, si vous le voulez, des informations "
        "pratiques. C'est gratuit. Vous pouvez arrêter à tout moment.",
        "Register your mobile phone to get your town's alerts (flood, industrial accident…) "
        "and, if you wish, practical news. It is free. You can stop at any time.",
    ),
    "home_subscribe": ("M'inscrire", "Sign up"),
    "home_manage": (
        "Changer mon inscription ou me désinscrire",
        "Change my subscription or leave",
    ),
    "home_sms": (
        "Sans internet : envoyez ALERTE suivi de votre code postal par SMS (par exemple "
        "ALERTE 59140), ou demandez à l'accueil de votre mairie.",
        "Without internet: text ALERTE and your postcode (for example ALERTE 59140), or ask "
        "at your town hall's desk.",
    ),
    "step": ("Étape {n} sur 3", "Step {n} of 3"),
    "subscribe_title": ("M'inscrire", "Sign up"),
    "phone": ("Numéro de téléphone portable", "Mobile phone number"),
    "phone_hint": ("Par exemple 06 12 34 56 78", "For example 06 12 34 56 78"),
    "postcode": ("Code postal", "Postcode"),
    "postcode_hint": ("5 chiffres, par exemple 59140", "5 digits, for example 59140"),
    "language": ("Langue des SMS", "Language of the text messages"),
    "lang_fr": ("Français", "French"),
    "lang_en": ("Anglais", "English"),
    "continue": ("Continuer", "Continue"),
    "choices_title": ("Ce que vous voulez recevoir", "What you want to receive"),
    "your_place": ("Vous serez inscrit auprès de : {name}", "You will be registered with: {name}"),
    "commune": ("Votre commune", "Your town"),
    "commune_hint": (
        "Plusieurs communes ont ce code postal : choisissez la vôtre.",
        "Several towns share this postcode: choose yours.",
    ),
    "address_legend": ("Votre adresse (facultatif)", "Your address (optional)"),
    "address_hint": (
        "Avec l'adresse, vous recevez seulement les alertes qui concernent votre rue.",
        "With your address, you only get the alerts about your street.",
    ),
    "number": ("Numéro dans la rue", "House number"),
    "street": ("Rue", "Street"),
    "alerts_always": (
        "Alertes de sécurité (inondation, accident, confinement) : toujours envoyées.",
        "Safety alerts (flood, accident, stay indoors): always sent.",
    ),
    "topics_legend": ("Informations pratiques (facultatif)", "Practical news (optional)"),
    "topic_consent": (
        "J'accepte de recevoir des SMS d'information sur : {topic}.",
        "I agree to get news by text message about: {topic}.",
    ),
    "consent": (
        "J'accepte de recevoir les alertes de sécurité par SMS à ce numéro.",
        "I agree to get safety alerts by text message at this number.",
    ),
    "privacy": (
        "Votre numéro sert seulement à vous envoyer ces messages. Vous pouvez télécharger ce "
        "que nous gardons, ou tout effacer, à tout moment.",
        "Your number is only used to send you these messages. You can download what we keep, "
        "or delete it all, at any time.",
    ),
    "send_code": ("Recevoir mon code par SMS", "Text me my code"),
    "code_title": ("Entrez le code reçu par SMS", "Enter the code we texted you"),
    "code_sent": (
        "Si ce numéro peut recevoir des SMS, un code de 6 chiffres vient d'y être envoyé. "
        "Il est valable 10 minutes.",
        "If this number can receive text messages, a 6-digit code has just been sent to it. "
        "It is valid for 10 minutes.",
    ),
    "code": ("Code à 6 chiffres", "6-digit code"),
    "confirm": ("Valider", "Confirm"),
    "new_code": ("Recevoir un nouveau code", "Send me a new code"),
    "new_code_sent": ("Un nouveau code a été envoyé.", "A new code has been sent."),
    "no_code": (
        "Pas de code ? Attendez une minute, vérifiez le numéro, puis demandez un nouveau code.",
        "No code? Wait a minute, check the number, then ask for a new code.",
    ),
    "done_title": ("Vous êtes inscrit", "You are signed up"),
    "done_body": (
        "Vous recevrez les alertes pour {place}. Un SMS de confirmation vous est envoyé. "
        "Pour arrêter, répondez STOP à un de nos SMS, ou revenez sur cette page.",
        "You will get the alerts for {place}. A confirmation text is on its way. To stop, "
        "reply STOP to one of our texts, or come back to this page.",
    ),
    "to_account": ("Voir ou changer mon inscription", "See or change my subscription"),
    "manage_title": ("Changer mon inscription", "Change my subscription"),
    "manage_intro": (
        "Entrez votre numéro : nous y envoyons un code pour vérifier que c'est bien vous.",
        "Enter your number: we text a code to it to check that it is you.",
    ),
    "account_title": ("Mon inscription", "My subscription"),
    "account_none": (
        "Ce numéro n'est pas inscrit en ce moment.",
        "This number is not signed up at the moment.",
    ),
    "account_place": ("Inscrit auprès de : {name}", "Registered with: {name}"),
    "save": ("Enregistrer", "Save"),
    "saved": ("Vos changements sont enregistrés.", "Your changes are saved."),
    "download_title": ("Mes données", "My data"),
    "download": (
        "Télécharger ce que vous gardez sur moi (fichier JSON)",
        "Download what you keep about me (JSON file)",
    ),
    "leave_title": ("Me désinscrire", "Leave"),
    "leave_body": (
        "Vous ne recevrez plus aucun SMS, même en cas d'alerte.",
        "You will get no more text messages, not even alerts.",
    ),
    "leave": ("Me désinscrire", "Leave"),
    "left_title": ("Vous êtes désinscrit", "You have left"),
    "left_body": (
        "Vous ne recevrez plus nos SMS. Vous pouvez vous réinscrire quand vous voulez.",
        "You will get no more texts from us. You can sign up again whenever you want.",
    ),
    "home": ("Retour à l'accueil", "Back to the start"),
    "errors_title": ("Il y a un problème", "There is a problem"),
    "error_prefix": ("Erreur :", "Error:"),
    "err_phone": (
        "Entrez un numéro de portable, par exemple 06 12 34 56 78.",
        "Enter a mobile number, for example 06 12 34 56 78.",
    ),
    "err_phone_not_mobile": (
        "Ce numéro ne peut pas recevoir de SMS : entrez un numéro de portable.",
        "This number cannot receive text messages: enter a mobile number.",
    ),
    "err_postcode": (
        "Entrez un code postal de 5 chiffres, par exemple 59140.",
        "Enter a 5-digit postcode, for example 59140.",
    ),
    "err_not_served": (
        "Ce code postal n'est pas couvert. Codes postaux couverts : {served}.",
        "This postcode is not covered. Postcodes covered: {served}.",
    ),
    "err_commune": ("Choisissez votre commune.", "Choose your town."),
    "err_consent": (
        "Cochez la case pour accepter de recevoir les alertes.",
        "Tick the box to agree to get the alerts.",
    ),
    "err_street": ("La rue est trop longue.", "The street is too long."),
    "err_code": ("Entrez les 6 chiffres du code.", "Enter the 6 digits of the code."),
    "err_code_wrong": (
        "Ce code n'est pas le bon. Il vous reste {n} essai(s).",
        "This code is not right. You have {n} tries left.",
    ),
    "err_code_dead": (
        "Trop d'essais. Demandez un nouveau code.",
        "Too many tries. Ask for a new code.",
    ),
    "err_code_expired": (
        "Ce code a expiré. Demandez un nouveau code.",
        "This code has expired. Ask for a new code.",
    ),
    "err_limited": (
        "Trop de codes ont été demandés. Réessayez dans une heure, ou demandez à votre mairie.",
        "Too many codes were asked for. Try again in an hour, or ask your town hall.",
    ),
    "err_session": (
        "Votre session est terminée. Demandez un nouveau code.",
        "Your session has ended. Ask for a new code.",
    ),
    "err_form": (
        "Le formulaire a expiré ou vient d'un autre site. Rechargez la page et recommencez. "
        "Les cookies doivent être acceptés pour cette page.",
        "The form has expired or came from another site. Reload the page and try again. "
        "Cookies must be allowed for this page.",
    ),
    "err_not_found": ("Page introuvable.", "Page not found."),
    "err_server": (
        "Le service a un problème. Réessayez dans quelques minutes.",
        "The service has a problem. Try again in a few minutes.",
    ),
    "optional": ("facultatif", "optional"),
}

TOPICS: dict[str, tuple[str, str]] = {
    "dechets": ("collecte des déchets", "waste collection"),
    "travaux": ("travaux", "roadworks"),
    "circulation": ("circulation", "traffic"),
    "eau": ("eau potable", "drinking water"),
    "evenements": ("événements", "events"),
}


def text(lang: str, key: str, **values: object) -> str:
    words = _TEXTS[key][0 if lang == "fr" else 1]
    return words.format(**values) if values else words


def topic_label(lang: str, topic: str) -> str:
    known = TOPICS.get(topic)
    if known is None:
        return topic.replace("_", " ").replace("-", " ")
    return known[0 if lang == "fr" else 1]
