"""The office head's insights: how an office was used in a period (``/admin/insights``).

``period`` checks what was asked for (an office, a first and a last day) and turns it into UTC
bounds; ``figures`` sums the period from the database in a handful of grouped queries (each
served by an index of migration 0014); ``tables`` lays the figures out as the named tables the
page, its CSV files and the admin API all show; ``charts`` draws some of them as SVG bars.

Every query is scoped to one office (``Period.office_id``): the natural unit an office head
answers for, and the one a wider scope (all offices of one municipality) can later join.
"""
