import AllauthCore
import Foundation

/// Where the store lives, from `database.url`: an SQLite file (`sqlite:PATH`, the default, made
/// from `database.path` so older configurations keep working) or a PostgreSQL server shared by
/// several hosts (`postgresql://…` / `postgres://…`, in any form libpq reads).
public enum StoreLocation: Sendable, Equatable {
    case sqlite(path: String)
    /// `password`: read from `database.password_file` at start; nil leaves it to libpq (the URL,
    /// PGPASSWORD, PGPASSFILE or ~/.pgpass).
    case postgreSQL(url: String, password: String?)

    public var engine: DatabaseEngine {
        switch self {
        case .sqlite: .sqlite
        case .postgreSQL: .postgreSQL
        }
    }

    /// Parses a `database.url` value (`key` names it in errors); a relative SQLite path is resolved
    /// by `resolve`.
    public static func parse(_ url: String, key: String, resolve: (String) -> String) throws(ConfigError) -> StoreLocation {
        if url.hasPrefix("sqlite:") {
            var path = String(url.dropFirst("sqlite:".count))
            // sqlite:///abs/path and sqlite://rel are read as the path after the slashes' authority.
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else { throw ConfigError(key: key, problem: "sqlite: needs a file path (sqlite:/var/lib/jwt-allauth/db.sqlite3)") }
            return .sqlite(path: resolve(path))
        }
        if url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") {
            return .postgreSQL(url: url, password: nil)
        }
        throw ConfigError(key: key, problem: "\(redacted(url)) is neither sqlite:PATH nor postgresql://USER@HOST[:PORT]/DATABASE")
    }

    /// The location as it may be logged or printed: a password in the URL is masked.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgreSQL(let url, _): Self.redacted(url)
        }
    }

    /// `postgresql://user:secret@host/db?password=x` → `postgresql://user:***@host/db?password=***`.
    static func redacted(_ url: String) -> String {
        var text = url
        if let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@"),
           let colon = text[scheme.upperBound..<at].firstIndex(of: ":") {
            text.replaceSubrange(text.index(after: colon)..<at, with: "***")
        }
        if let password = text.range(of: "password=") {
            let end = text[password.upperBound...].firstIndex(of: "&") ?? text.endIndex
            text.replaceSubrange(password.upperBound..<end, with: "***")
        }
        return text
    }

    /// A new connection for one thread. SQLite opens the file now; PostgreSQL connects at the first
    /// statement, so a pool starts while the server is still coming up.
    public func connect(busyTimeout: TimeInterval) throws -> any SQLConnection {
        switch self {
        case .sqlite(let path):
            return try SQLiteDatabase(path: path, busyTimeout: busyTimeout)
        case .postgreSQL(let url, let password):
            return PostgreSQLDatabase(PostgreSQLSettings(url: url, password: password, busyTimeout: busyTimeout))
        }
    }
}
