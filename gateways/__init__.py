"""SMS gateway adapters behind one small interface: fake, HTTP providers, SMPP 3.4.
Talks to the network, never to the database; never imports alertd."""
