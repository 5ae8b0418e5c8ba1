"""Municipalities (tenants): one installation serves several towns, each on its own host names.

``tenants.models`` is the table, ``tenants.scope`` keeps every database query of a request
inside the request's municipality, ``tenants.hosts`` finds the municipality of a host name,
``tenants.service`` creates municipalities and their first administrator.
"""
