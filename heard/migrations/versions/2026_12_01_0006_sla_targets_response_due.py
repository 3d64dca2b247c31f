"""sla: per-channel SLA targets; stored, indexed response due/risk times on conversations

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 02:45:00

Backfill: every open conversation waiting on us (a customer message after our last reply)
gets ``waiting_since`` (the first customer message after that reply) and
``response_due_at``/``response_risk_at`` from the default targets (no SLA rows exist yet,
so always staffed): set-based UPDATEs, one per channel.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import heard.db.base

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The defaults at the time of this migration (heard.domain.sla.DEFAULT_TARGETS); copied, not
# imported, so that later changes to the defaults don't change what this revision did.
_TARGETS = {"chat": 5, "phone": 60, "social": 60, "email": 240, "web_form": 240, "api": 240}
_DEFAULT = 240
_RISK_SHARE = 0.75


def upgrade() -> None:
    op.create_table(
        'sla_target',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('first_response_minutes', sa.Integer(), nullable=False),
        sa.Column('business_hours', sa.JSON(), nullable=False),
        sa.Column('updated_at', heard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_target')),
        sa.UniqueConstraint('channel', name=op.f('uq_sla_target_channel')),
    )
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_since',
                                      heard.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('response_due_at',
                                      heard.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('response_risk_at',
                                      heard.db.base.UTCDateTime(timezone=True), nullable=True))
    op.create_index('ix_conversation_status_due', 'conversation',
                    ['status', 'response_due_at', 'id'], unique=False)
    op.create_index('ix_conversation_team_status_due', 'conversation',
                    ['team_id', 'status', 'response_due_at', 'id'], unique=False)
    op.create_index('ix_conversation_assignee_status_due', 'conversation',
                    ['assignee_id', 'status', 'response_due_at', 'id'], unique=False)
    op.create_index('ix_conversation_risk', 'conversation', ['response_risk_at'], unique=False)
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    conversation = sa.table(
        'conversation',
        sa.column('id', sa.Integer()), sa.column('status', sa.String()),
        sa.column('channel', sa.String()), sa.column('merged_into_id', sa.Integer()),
        sa.column('waiting_since', heard.db.base.UTCDateTime()),
        sa.column('response_due_at', heard.db.base.UTCDateTime()),
        sa.column('response_risk_at', heard.db.base.UTCDateTime()),
    )
    message = sa.table(
        'message',
        sa.column('conversation_id', sa.Integer()), sa.column('kind', sa.String()),
        sa.column('created_at', heard.db.base.UTCDateTime()),
    )
    reply = message.alias('reply')
    last_reply = (
        sa.select(sa.func.max(reply.c.created_at))
        .where(reply.c.conversation_id == conversation.c.id, reply.c.kind == 'outbound')
        .correlate(conversation)
        .scalar_subquery()
    )
    # The first customer message after our last reply: when the current wait started.
    waiting_since = (
        sa.select(sa.func.min(message.c.created_at))
        .where(
            message.c.conversation_id == conversation.c.id,
            message.c.kind == 'inbound',
            sa.or_(last_reply.is_(None), message.c.created_at > last_reply),
        )
        .correlate(conversation)
        .scalar_subquery()
    )
    bind.execute(
        conversation.update()
        .where(conversation.c.status == 'open', conversation.c.merged_into_id.is_(None))
        .values(waiting_since=waiting_since)
    )
    since = conversation.c.waiting_since
    for channel, minutes in [*_TARGETS.items(), (None, _DEFAULT)]:
        due = _plus_minutes(bind.dialect.name, since, minutes)
        risk = _plus_minutes(bind.dialect.name, since, minutes * _RISK_SHARE)
        where = [since.is_not(None)]
        where.append(conversation.c.channel == channel if channel is not None
                     else conversation.c.channel.not_in(list(_TARGETS)))
        bind.execute(
            conversation.update().where(*where).values(response_due_at=due, response_risk_at=risk)
        )


def _plus_minutes(dialect: str, moment: Any, minutes: float) -> Any:
    if dialect == 'sqlite':
        # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'.
        return sa.func.strftime('%Y-%m-%d %H:%M:%f000', moment, f'+{minutes * 60:.0f} seconds')
    return moment + sa.text(f"interval '{minutes * 60:.0f} seconds'")


def downgrade() -> None:
    op.drop_index('ix_conversation_risk', table_name='conversation')
    op.drop_index('ix_conversation_assignee_status_due', table_name='conversation')
    op.drop_index('ix_conversation_team_status_due', table_name='conversation')
    op.drop_index('ix_conversation_status_due', table_name='conversation')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_column('response_risk_at')
        batch_op.drop_column('response_due_at')
        batch_op.drop_column('waiting_since')
    op.drop_table('sla_target')
