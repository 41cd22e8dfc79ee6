"""The four source systems whose monthly exports the index is built from.

What each system's files say (headers, values, codes) is data: data/vocabularies/<source>/v<N>.yaml,
read by nsi.vocabulary.
"""

SOURCES = ("hotline", "police", "disputes", "survey")
EXTENSIONS = ("csv", "xlsx", "xls")  # the file types an export may come as
