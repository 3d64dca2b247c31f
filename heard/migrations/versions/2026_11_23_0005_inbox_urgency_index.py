"""inbox: index open conversations by urgency (the workspace's default order)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_conversation_status_urgency', 'conversation',
                    ['status', 'urgency', 'last_activity_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_conversation_status_urgency', table_name='conversation')
