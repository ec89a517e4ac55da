"""The tag set: IOB2 over one entity type, PER (the network's n_y = 3 classes).

    0 O      outside a name
    1 B-PER  the first token of a name
    2 I-PER  a later token of the same name

The artifact stores ``TAGS`` as its labels; readers map whatever scheme a file
uses (IOB1, IOB2, IO) onto these ids.
"""
TAGS = ("O", "B-PER", "I-PER")
O, B, I = 0, 1, 2
