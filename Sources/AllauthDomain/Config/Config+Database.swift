import AllauthCore
import AllauthStore
import Foundation

extension Config {
    /// The `database` section: which store, and how long a request waits for it.
    public struct Database: Sendable {
        /// The SQLite file (`database.path`, or the path of a `sqlite:` URL).
        public var path: String
        public var busyTimeout: TimeInterval
        /// `database.url`: SQLite (the default) or PostgreSQL (`StoreLocation`).
        public var location: StoreLocation = .sqlite(path: "")
        /// `database.password_file`, kept so `check` can see who may read it.
        public var passwordFile: String?

        enum Key {
            static let path = SettingKey("database.path", default: "`jwt-allauth.sqlite3`", "SQLite file (WAL mode)")
            static let busyTimeout = SettingKey("database.busy_timeout", default: "`5s`", """
                longest wait for any lock of the store (all waits of a request together) before answering 503 (on \
                PostgreSQL: `lock_timeout`, `statement_timeout` and `connect_timeout`)
                """)
            static let url = SettingKey("database.url", default: "`sqlite:` + `database.path`", """
                `sqlite:PATH`, or `postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=…]` for several hosts on one \
                PostgreSQL (see [postgresql.md](postgresql.md))
                """)
            static let passwordFile = SettingKey("database.password_file", default: "none", """
                the PostgreSQL password, one line; without it libpq's own `PGPASSWORD`, `PGPASSFILE` or `~/.pgpass`
                """)
        }

        static func parse(_ r: inout ConfigReader) throws(ConfigError) -> Database {
            var database = Database(
                path: try r.path(Key.path, default: "jwt-allauth.sqlite3"),
                busyTimeout: try r.duration(Key.busyTimeout, default: 5, minimum: 0.05)
            )
            let url = try r.optionalString(Key.url)
            database.passwordFile = try r.optionalPath(Key.passwordFile)
            database.location = try storeLocation(&r, url: url, sqlitePath: database.path, passwordFile: database.passwordFile)
            if case .sqlite(let path) = database.location { database.path = path }
            return database
        }

        /// `database.url` (default `sqlite:` + `database.path`) and `database.password_file`, read now
        /// so an unreadable file stops the start with the key's name.
        private static func storeLocation(_ r: inout ConfigReader, url: String?, sqlitePath: String,
                                          passwordFile: String?) throws(ConfigError) -> StoreLocation {
            guard let url else {
                if passwordFile != nil { throw ConfigError(key: Key.passwordFile.name, problem: "only for a postgresql:// database.url") }
                return .sqlite(path: sqlitePath)
            }
            let location = try StoreLocation.parse(url, key: Key.url.name, resolve: r.resolve)
            guard let passwordFile else { return location }
            guard case .postgreSQL(let url, _) = location else {
                throw ConfigError(key: Key.passwordFile.name, problem: "only for a postgresql:// database.url")
            }
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                throw ConfigError(key: Key.passwordFile.name, problem: "cannot read \(passwordFile)")
            }
            // A trailing newline is the editor's, not the password's.
            return .postgreSQL(url: url, password: String(text.trimmingCharacters(in: .newlines)))
        }

        /// A new connection to the configured store, for one thread.
        public func connect() throws -> any SQLConnection {
            try location.connect(busyTimeout: busyTimeout)
        }
    }
}
