"""The audit trail: who changed what, written in the same transaction as the change.

Importing this package installs the ORM listener (:mod:`.recording`) that
audits every model marked :class:`~.models.Auditable`.
"""

from alchemy_patterns.domains.audit import recording as recording
