# msgId arithmetic core, included by _split.pyx (stub)
MSGID_API = []
