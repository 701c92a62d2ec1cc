"""The residents' sign-up pages: subscribe, confirm by a code sent by SMS, change, download, leave.

Server-rendered HTML that works without JavaScript, in French and English, on a listener of its
own (``[serve] signup_listen``), apart from the operators' API.
"""
