// SQLite, in the file the benchmark names (DATABASE_FILENAME), in WAL mode with synchronous =
// NORMAL: the settings Headwater uses on SQLite (Strapi's own connection setup adds foreign_keys).
module.exports = ({ env }) => ({
  connection: {
    client: 'sqlite',
    connection: { filename: env('DATABASE_FILENAME') },
    useNullAsDefault: true,
    pool: {
      afterCreate(conn, done) {
        conn.pragma('journal_mode = WAL');
        conn.pragma('synchronous = NORMAL');
        done(null, conn);
      },
    },
  },
});
