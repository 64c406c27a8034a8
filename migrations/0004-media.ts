import { sql, type Kysely } from 'kysely';

/**
 * The media repository: content stored once per sha256 (`media_content`,
 * reference-counted by the `media` rows that point at it), the media IDs users
 * see (`media`, one per upload or `create`), cached thumbnails per content, and
 * the URL preview cache.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('media_content')
    .addColumn('sha256', 'text', (col) => col.primaryKey())
    .addColumn('size', 'bigint', (col) => col.notNull())
    .addColumn('refcount', 'integer', (col) => col.notNull().check(sql`refcount >= 0`))
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .execute();

  // `sha256` is null while an async upload (`create`) is pending. `authenticated`:
  // uploaded while the unauthenticated endpoints were frozen (Synapse's flag).
  await db.schema
    .createTable('media')
    .addColumn('media_id', 'text', (col) => col.primaryKey())
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('content_type', 'text')
    .addColumn('upload_name', 'text')
    .addColumn('sha256', 'text', (col) => col.references('media_content.sha256'))
    .addColumn('size', 'bigint')
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addColumn('uploaded_ts', 'bigint')
    .addColumn('unused_expires_at', 'bigint')
    .addColumn('authenticated', 'boolean', (col) => col.notNull())
    .addColumn('quarantined_by', 'text')
    .execute();
  await db.schema.createIndex('media_user_idx').on('media').columns(['user_id', 'created_ts']).execute();
  await db.schema.createIndex('media_sha256_idx').on('media').column('sha256').execute();

  await db.schema
    .createTable('media_thumbnails')
    .addColumn('sha256', 'text', (col) => col.notNull().references('media_content.sha256').onDelete('cascade'))
    .addColumn('width', 'integer', (col) => col.notNull())
    .addColumn('height', 'integer', (col) => col.notNull())
    .addColumn('method', 'text', (col) => col.notNull().check(sql`method IN ('crop', 'scale')`))
    .addColumn('animated', 'boolean', (col) => col.notNull())
    .addColumn('content_type', 'text', (col) => col.notNull())
    .addColumn('size', 'bigint', (col) => col.notNull())
    .addColumn('storage_key', 'text', (col) => col.notNull())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('media_thumbnails_pkey', ['sha256', 'width', 'height', 'method', 'animated'])
    .execute();

  await db.schema
    .createTable('url_previews')
    .addColumn('url', 'text', (col) => col.primaryKey())
    .addColumn('og', 'jsonb', (col) => col.notNull())
    .addColumn('fetched_ts', 'bigint', (col) => col.notNull())
    .addColumn('expires_ts', 'bigint', (col) => col.notNull())
    .execute();
}
