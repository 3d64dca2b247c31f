"""satisfaction ratings: one CSAT rating (bad/okay/good) per conversation

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 03:30:00

A new table, nothing to backfill. Downgrading drops it, ratings included.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import heard.db.base

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'satisfaction_rating',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('created_at', heard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', heard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('score BETWEEN 1 AND 3',
                           name=op.f('ck_satisfaction_rating_score_range')),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'],
                                name=op.f('fk_satisfaction_rating_conversation_id_conversation'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'],
                                name=op.f('fk_satisfaction_rating_customer_id_customer'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_satisfaction_rating')),
        sa.UniqueConstraint('conversation_id',
                            name=op.f('uq_satisfaction_rating_conversation_id')),
    )
    op.create_index(op.f('ix_satisfaction_rating_customer_id'), 'satisfaction_rating',
                    ['customer_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_satisfaction_rating_customer_id'),
                  table_name='satisfaction_rating')
    op.drop_table('satisfaction_rating')
