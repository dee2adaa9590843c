"""Initial schema: outlets, seeds, crawl runs, WARC files, captures, flags, ledger.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 16:46:50.548704
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('crawl_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=64), nullable=False),
    sa.Column('collection', sa.String(length=300), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('software', sa.String(length=200), nullable=False),
    sa.Column('software_version', sa.String(length=40), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('operator', sa.String(length=300), nullable=False),
    sa.Column('user_agent', sa.Text(), nullable=False),
    sa.Column('robots_policy', sa.String(length=40), nullable=False, comment='obey or ignore'),
    sa.Column('settings_json', sa.Text(), nullable=False, comment='the settings that shape the capture'),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('captures', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('ledger_head', sa.String(length=64), nullable=True),
    sa.Column('head_signature', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid')
    )
    op.create_table('ledger',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('row_id', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False, comment='insert or update'),
    sa.Column('payload', sa.Text(), nullable=False, comment='canonical JSON of the row'),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('entry_hash')
    )
    op.create_table('outlets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('seeds',
    sa.Column('id', sa.String(length=100), nullable=False, comment='manifest seed id'),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=False),
    sa.Column('copy_file', sa.String(length=500), nullable=True),
    sa.Column('copy_sha256', sa.String(length=64), nullable=True, comment='SHA-256 of the seed copy'),
    sa.Column('published', sa.String(length=40), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('warc_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False, comment='final name, no .open'),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('warcinfo_id', sa.String(length=100), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True, comment='SHA-256 of the closed file'),
    sa.Column('gzip_level', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['crawl_runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('captures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('seed_id', sa.String(length=100), nullable=True),
    sa.Column('outlet_id', sa.Integer(), nullable=True),
    sa.Column('requested_url', sa.Text(), nullable=False, comment='first URL of the redirect chain'),
    sa.Column('url', sa.Text(), nullable=False, comment='WARC-Target-URI of this fetch'),
    sa.Column('redirect_location', sa.Text(), nullable=True),
    sa.Column('redirect_from_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False, comment='page, requisite or robots'),
    sa.Column('hops', sa.Integer(), nullable=False, comment='0 = the seed page'),
    sa.Column('via_url', sa.Text(), nullable=True, comment='page that needed this resource'),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False, comment='WARC-Date, UTC'),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('protocol', sa.String(length=20), nullable=True),
    sa.Column('content_type', sa.String(length=300), nullable=True),
    sa.Column('content_encoding', sa.String(length=100), nullable=True),
    sa.Column('payload_length', sa.BigInteger(), nullable=True),
    sa.Column('payload_sha256', sa.String(length=64), nullable=True, comment='payload as received: de-chunked, before content decoding'),
    sa.Column('warc_payload_digest', sa.String(length=100), nullable=True),
    sa.Column('warc_block_digest', sa.String(length=100), nullable=True),
    sa.Column('warc_file_id', sa.Integer(), nullable=True),
    sa.Column('warc_record_id', sa.String(length=100), nullable=True),
    sa.Column('response_offset', sa.BigInteger(), nullable=True),
    sa.Column('response_length', sa.BigInteger(), nullable=True),
    sa.Column('request_record_id', sa.String(length=100), nullable=True),
    sa.Column('request_offset', sa.BigInteger(), nullable=True),
    sa.Column('request_length', sa.BigInteger(), nullable=True),
    sa.Column('metadata_record_id', sa.String(length=100), nullable=True),
    sa.Column('metadata_offset', sa.BigInteger(), nullable=True),
    sa.Column('metadata_length', sa.BigInteger(), nullable=True),
    sa.Column('ip_address', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True, comment='why no response was received'),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], ),
    sa.ForeignKeyConstraint(['redirect_from_id'], ['captures.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['crawl_runs.id'], ),
    sa.ForeignKeyConstraint(['seed_id'], ['seeds.id'], ),
    sa.ForeignKeyConstraint(['warc_file_id'], ['warc_files.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('warc_record_id')
    )
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_captures_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_captures_seed_id'), ['seed_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_captures_url'), ['url'], unique=False)
        batch_op.create_index(batch_op.f('ix_captures_warc_file_id'), ['warc_file_id'], unique=False)

    op.create_table('flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('capture_id', sa.Integer(), nullable=True),
    sa.Column('seed_id', sa.String(length=100), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('evidence_json', sa.Text(), nullable=False),
    sa.Column('software_version', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['crawl_runs.id'], ),
    sa.ForeignKeyConstraint(['seed_id'], ['seeds.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flags_capture_id'), ['capture_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_flags_seed_id'), ['seed_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flags_seed_id'))
        batch_op.drop_index(batch_op.f('ix_flags_capture_id'))

    op.drop_table('flags')
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_captures_warc_file_id'))
        batch_op.drop_index(batch_op.f('ix_captures_url'))
        batch_op.drop_index(batch_op.f('ix_captures_seed_id'))
        batch_op.drop_index(batch_op.f('ix_captures_run_id'))

    op.drop_table('captures')
    op.drop_table('warc_files')
    op.drop_table('seeds')
    op.drop_table('outlets')
    op.drop_table('ledger')
    op.drop_table('crawl_runs')

