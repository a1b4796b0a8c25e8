import Foundation

/// A named schema change. Append-only: once released, a migration is never edited, only followed
/// by another.
public struct Migration: Sendable {
    public var name: String
    public var sql: String
}

/// Applies the migrations that a database has not seen yet, in order, each in its own transaction.
public enum Migrator {
    public static let all: [Migration] = [
        Migration(name: "0001_users", sql: """
            CREATE TABLE users (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                email TEXT NOT NULL,
                email_lower TEXT NOT NULL UNIQUE,
                password TEXT NOT NULL,
                first_name TEXT NOT NULL DEFAULT '',
                last_name TEXT NOT NULL DEFAULT '',
                role INTEGER NOT NULL DEFAULT 0 CHECK (role >= 0),
                is_active INTEGER NOT NULL DEFAULT 1,
                email_verified INTEGER NOT NULL DEFAULT 0,
                date_joined INTEGER NOT NULL,
                last_login INTEGER
            );
            """),
        Migration(name: "0002_refresh_whitelist", sql: """
            CREATE TABLE refresh_tokens (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                jti TEXT NOT NULL UNIQUE,
                session TEXT NOT NULL,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                enabled INTEGER NOT NULL DEFAULT 1,
                created INTEGER NOT NULL,
                expires INTEGER NOT NULL,
                session_iat INTEGER NOT NULL,
                predecessor_jti TEXT,
                ip TEXT,
                browser TEXT, browser_version TEXT, os TEXT, os_version TEXT,
                device TEXT, device_brand TEXT, device_model TEXT,
                is_mobile INTEGER, is_tablet INTEGER, is_pc INTEGER, is_bot INTEGER
            );
            CREATE INDEX refresh_tokens_session ON refresh_tokens(session);
            CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);
            """),
        Migration(name: "0003_throttle", sql: """
            CREATE TABLE throttle_hits (
                bucket TEXT NOT NULL,
                at REAL NOT NULL
            );
            CREATE INDEX throttle_hits_bucket ON throttle_hits(bucket, at);
            """),
        Migration(name: "0004_one_time_tokens", sql: """
            CREATE TABLE one_time_tokens (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                purpose TEXT NOT NULL,
                token_hash TEXT NOT NULL,
                created INTEGER NOT NULL,
                expires INTEGER NOT NULL
            );
            CREATE INDEX one_time_tokens_lookup ON one_time_tokens(token_hash, purpose);
            CREATE INDEX one_time_tokens_user ON one_time_tokens(user_id, purpose);
            CREATE INDEX one_time_tokens_expires ON one_time_tokens(expires);
            """),
        Migration(name: "0005_outbox", sql: """
            CREATE TABLE outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                message_id TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                sender TEXT NOT NULL,
                recipient TEXT NOT NULL,
                subject TEXT NOT NULL,
                text_body TEXT NOT NULL,
                html_body TEXT,
                created INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at INTEGER NOT NULL,
                leased_until INTEGER,
                sent_at INTEGER,
                failed_at INTEGER,
                last_error TEXT
            );
            CREATE INDEX outbox_due ON outbox(sent_at, failed_at, next_attempt_at);
            """),
        // MFA (issue 8): second factors, recovery codes, pending setup secrets, challenges and
        // the per-user failure history behind the lockout.
        Migration(name: "0010_mfa", sql: """
            CREATE TABLE mfa_authenticators (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                type TEXT NOT NULL CHECK (type IN ('totp', 'recovery_codes')),
                secret BLOB,
                last_step INTEGER,
                created_at REAL NOT NULL,
                last_used_at REAL,
                UNIQUE (user_id, type)
            );
            CREATE TABLE mfa_recovery_codes (
                authenticator_id INTEGER NOT NULL REFERENCES mfa_authenticators(id) ON DELETE CASCADE,
                code_digest TEXT NOT NULL,
                PRIMARY KEY (authenticator_id, code_digest)
            );
            CREATE TABLE mfa_setup_secrets (
                user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                secret BLOB NOT NULL,
                expires INTEGER NOT NULL
            );
            CREATE TABLE mfa_challenges (
                id_digest TEXT PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                kind TEXT NOT NULL CHECK (kind IN ('login', 'setup')),
                failures INTEGER NOT NULL DEFAULT 0,
                expires INTEGER NOT NULL
            );
            CREATE INDEX mfa_challenges_user ON mfa_challenges(user_id, kind);
            CREATE TABLE mfa_failures (
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                at REAL NOT NULL
            );
            CREATE INDEX mfa_failures_user ON mfa_failures(user_id, at);
            """),
        // Social login (OpenID Connect): one row per provider identity connected to an account.
        Migration(name: "0011_social_accounts", sql: """
            CREATE TABLE social_accounts (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                provider TEXT NOT NULL,
                uid TEXT NOT NULL,
                last_login INTEGER NOT NULL,
                date_joined INTEGER NOT NULL,
                extra_data TEXT NOT NULL DEFAULT '{}',
                UNIQUE (provider, uid)
            );
            CREATE INDEX social_accounts_user ON social_accounts(user_id);
            """),
        // i18n: the user's language (a catalog code such as `pt_BR`), set at sign-up and each login,
        // for the mails sent later; NULL until then (the default language).
        Migration(name: "0012_user_language", sql: "ALTER TABLE users ADD COLUMN language TEXT;"),
        // Social login: the id_tokens already accepted (`SpentIDTokens`), each until it expires, so
        // that a token is accepted once across workers and hosts.
        Migration(name: "0013_social_id_token_replay", sql: """
            CREATE TABLE social_id_tokens (
                digest TEXT PRIMARY KEY,
                expires INTEGER NOT NULL
            );
            """),
        // The sessions that proved the password (and second factor) again lately: adding a way into
        // the account needs one (`Reauthentication`).
        Migration(name: "0014_reauthentications", sql: """
            CREATE TABLE reauthentications (
                session TEXT PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                at INTEGER NOT NULL
            );
            CREATE INDEX reauthentications_user ON reauthentications(user_id);
            """),
        // A TEXT PRIMARY KEY may hold NULL on SQLite (a quirk it keeps for compatibility; several
        // NULL keys even), where PostgreSQL's is NOT NULL (SchemaTests found it). SQLite cannot
        // alter a column, so each such table is rebuilt with NOT NULL, its rows and indexes kept
        // (no table refers to these, so dropping them cascades nowhere). PostgreSQL: nothing to do.
        Migration(name: "0015_text_keys_not_null", sql: """
            CREATE TABLE mfa_challenges_rebuilt (
                id_digest TEXT NOT NULL PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                kind TEXT NOT NULL CHECK (kind IN ('login', 'setup')),
                failures INTEGER NOT NULL DEFAULT 0,
                expires INTEGER NOT NULL
            );
            INSERT INTO mfa_challenges_rebuilt (id_digest, user_id, kind, failures, expires)
                SELECT id_digest, user_id, kind, failures, expires FROM mfa_challenges WHERE id_digest IS NOT NULL;
            DROP TABLE mfa_challenges;
            ALTER TABLE mfa_challenges_rebuilt RENAME TO mfa_challenges;
            CREATE INDEX mfa_challenges_user ON mfa_challenges(user_id, kind);

            CREATE TABLE social_id_tokens_rebuilt (
                digest TEXT NOT NULL PRIMARY KEY,
                expires INTEGER NOT NULL
            );
            INSERT INTO social_id_tokens_rebuilt (digest, expires) SELECT digest, expires FROM social_id_tokens WHERE digest IS NOT NULL;
            DROP TABLE social_id_tokens;
            ALTER TABLE social_id_tokens_rebuilt RENAME TO social_id_tokens;

            CREATE TABLE reauthentications_rebuilt (
                session TEXT NOT NULL PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                at INTEGER NOT NULL
            );
            INSERT INTO reauthentications_rebuilt (session, user_id, at) SELECT session, user_id, at FROM reauthentications WHERE session IS NOT NULL;
            DROP TABLE reauthentications;
            ALTER TABLE reauthentications_rebuilt RENAME TO reauthentications;
            CREATE INDEX reauthentications_user ON reauthentications(user_id);

            CREATE TABLE schema_migrations_rebuilt (name TEXT NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL);
            INSERT INTO schema_migrations_rebuilt (name, applied_at) SELECT name, applied_at FROM schema_migrations WHERE name IS NOT NULL;
            DROP TABLE schema_migrations;
            ALTER TABLE schema_migrations_rebuilt RENAME TO schema_migrations;
            """),
    ]

    /// The steps for `engine`: `all` (SQLite) or `postgreSQL`, the same names in the same order.
    public static func steps(for engine: DatabaseEngine) -> [Migration] {
        switch engine {
        case .sqlite: all
        case .postgreSQL: postgreSQL
        }
    }

    /// A fixed key for PostgreSQL's session advisory lock around `migrate`: hosts starting together
    /// apply each step once, one after the other, and none starts serving on a half-made schema.
    static let postgreSQLLock: Int64 = 0x6a77_7461_6c6c_7468  // "jwtallth"

    /// Returns the names applied by this call. `migrations`: the engine's own steps by default.
    @discardableResult
    public static func migrate(_ db: any SQLConnection, migrations: [Migration]? = nil) throws -> [String] {
        let migrations = migrations ?? steps(for: db.engine)
        if db.engine == .postgreSQL {
            // Before anything, the bookkeeping table included: CREATE … IF NOT EXISTS races too.
            try db.run("SELECT pg_advisory_lock(?)", [.integer(postgreSQLLock)])
        }
        defer { if db.engine == .postgreSQL { _ = try? db.run("SELECT pg_advisory_unlock(?)", [.integer(postgreSQLLock)]) } }
        try db.execute(schemaTable(db.engine))
        var applied: [String] = []
        for migration in migrations {
            // Checked inside the write transaction, so two processes migrating at once apply each step once.
            let didApply = try db.transaction(.write) { () throws -> Bool in
                let seen = try db.first("SELECT 1 FROM schema_migrations WHERE name = ?", [.text(migration.name)]) { _ in true } ?? false
                if seen { return false }
                try db.execute(migration.sql)
                try db.run("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                           [.text(migration.name), .integer(Int64(Date().timeIntervalSince1970))])
                return true
            }
            if didApply { applied.append(migration.name) }
        }
        return applied
    }

    private static func schemaTable(_ engine: DatabaseEngine) -> String {
        // `applied_at` is BIGINT on PostgreSQL (INTEGER there is 32-bit). NOT NULL for SQLite's sake
        // (0015 rebuilt the tables made before it said so).
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT NOT NULL PRIMARY KEY, applied_at \(engine == .sqlite ? "INTEGER" : "BIGINT") NOT NULL)"
    }

    /// Names of applied migrations, in order (the names are numbered).
    public static func applied(_ db: any SQLConnection) throws -> [String] {
        var names: [String] = []
        try db.execute(schemaTable(db.engine))
        try db.query("SELECT name FROM schema_migrations ORDER BY name") { names.append($0.string(0)) }
        return names
    }
}
