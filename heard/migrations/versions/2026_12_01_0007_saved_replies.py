"""saved replies: the saved_reply table, seeded with the starter replies (EN/FR/ES)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:00:00

The starter replies are read from ``heard/web/saved_replies/<lang>.json`` (kept in the
package as seed data) and inserted as shared replies (no team, no author), so a fresh
install offers them in the composer. Downgrading drops the table, edits included.
"""

import json
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import heard.db.base

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEED_DIR = Path(__file__).parents[2] / "web" / "saved_replies"
SEED_LANGUAGES = ("en", "fr", "es")


def upgrade() -> None:
    table = op.create_table(
        'saved_reply',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', heard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', heard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['agent.id'],
                                name=op.f('fk_saved_reply_created_by_agent'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['team_id'], ['team.id'],
                                name=op.f('fk_saved_reply_team_id_team'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_reply')),
    )
    op.create_index('ix_saved_reply_language_team', 'saved_reply', ['language', 'team_id'],
                    unique=False)
    now = heard.db.base.utcnow()
    rows = []
    for language in SEED_LANGUAGES:
        for reply in json.loads((SEED_DIR / f"{language}.json").read_text(encoding="utf-8")):
            rows.append({"title": reply["title"], "body": reply["text"], "language": language,
                         "team_id": None, "created_by": None, "created_at": now,
                         "updated_at": now})
    assert table is not None
    op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index('ix_saved_reply_language_team', table_name='saved_reply')
    op.drop_table('saved_reply')
