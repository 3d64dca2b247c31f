"""inbox: index conversations by last activity (the unfiltered inbox and search results)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_conversation_activity', 'conversation', ['last_activity_at', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_conversation_activity', table_name='conversation')
