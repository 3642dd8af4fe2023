"""Request models of api/admin/payments.py: the plain page query."""

from chalicelib.api.fields import PageQuery as PageQuery
