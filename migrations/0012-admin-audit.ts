import { sql, type Kysely } from 'kysely';

/**
 * The server admin audit log: changes made through the admin APIs to things
 * other than one channel (users, registration tokens). Channel changes stay in
 * `channel_audit`; both tables now draw their ids from one sequence, so the
 * server-wide log (both, merged) is ordered and paged by id alone.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE SEQUENCE admin_audit_id_seq AS bigint`.execute(db);
  await sql`SELECT setval('admin_audit_id_seq', COALESCE((SELECT max(id) FROM channel_audit), 0) + 1, false)`.execute(db);
  await sql`ALTER TABLE channel_audit ALTER COLUMN id SET DEFAULT nextval('admin_audit_id_seq')`.execute(db);

  await db.schema
    .createTable('admin_audit')
    .addColumn('id', 'bigint', (col) => col.primaryKey().defaultTo(sql`nextval('admin_audit_id_seq')`))
    .addColumn('actor', 'text', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    // What the change was made to: 'user' (a user ID) or 'registration_token' (the token).
    .addColumn('target_type', 'text', (col) => col.notNull())
    .addColumn('target', 'text', (col) => col.notNull())
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb')
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .execute();
  await sql`ALTER SEQUENCE admin_audit_id_seq OWNED BY admin_audit.id`.execute(db);
  await db.schema.createIndex('admin_audit_target').on('admin_audit').columns(['target_type', 'target', 'id']).execute();
  await db.schema.createIndex('admin_audit_actor').on('admin_audit').columns(['actor', 'id']).execute();
}
