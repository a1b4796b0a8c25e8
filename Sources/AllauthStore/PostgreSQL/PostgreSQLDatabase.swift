import CPostgreSQL
import Foundation

/// Where and how to reach PostgreSQL: the `database.url` as libpq reads it, the password from
/// `database.password_file` (else libpq's own PGPASSWORD / PGPASSFILE / ~/.pgpass), and the
/// bound on every wait, from `database.busy_timeout`.
public struct PostgreSQLSettings: Sendable {
    public var url: String
    public var password: String?
    public var busyTimeout: TimeInterval

    public init(url: String, password: String?, busyTimeout: TimeInterval) {
        self.url = url
        self.password = password
        self.busyTimeout = busyTimeout
    }

    /// `jwt-allauth worker 4242`: which command and process a row of `pg_stat_activity` belongs to.
    static let applicationName: String = {
        let command = CommandLine.arguments.dropFirst().first { !$0.hasPrefix("-") }.map { URL(fileURLWithPath: $0).lastPathComponent } ?? ""
        return "jwt-allauth \(command.prefix(24)) \(getpid())"
    }()

    /// Whole seconds (libpq's unit), 1 to 10: a refused or silent server fails fast, even for the
    /// long-running commands that raise the busy timeout (`migrate-store`).
    var connectTimeout: Int { min(10, max(1, Int(busyTimeout.rounded(.up)))) }

    /// Server settings of every session, so no request waits past the busy timeout on a lock or a
    /// slow statement, and a worker stuck inside a transaction cannot hold its row locks forever.
    var sessionOptions: String {
        let milliseconds = max(50, Int(busyTimeout * 1000))
        return "-c statement_timeout=\(milliseconds) -c lock_timeout=\(milliseconds)"
            + " -c idle_in_transaction_session_timeout=\(max(10_000, 2 * milliseconds))"
            // NOTICEs and WARNINGs (`… already exists, skipping`) would go to the worker's standard
            // error through libpq's default notice processor; errors come back as results anyway.
            + " -c client_min_messages=error"
    }
}

/// One PostgreSQL connection through libpq, used by one thread at a time, as `SQLiteDatabase` is for
/// SQLite: the calls are synchronous, which fits the thread-per-request workers. Opened lazily
/// at the first statement; dropped when the server goes away (restart, killed backend), and the
/// next statement opens a fresh one. Each statement text is prepared once per connection
/// (`PQprepare`, with its `?` placeholders numbered) and run with `PQexecPrepared` after.
/// Results come in text format and are read through `Row`.
public final class PostgreSQLDatabase: SQLConnection {
    public let engine = DatabaseEngine.postgreSQL
    let settings: PostgreSQLSettings
    private var connection: OpaquePointer?
    /// Statement text → its prepared name on the current connection.
    private var statements: [String: String] = [:]
    /// The durability of the transaction in progress, nil outside one.
    private var openDurability: Durability?
    private var inTransaction: Bool { openDurability != nil }
    /// The connection died inside a transaction: every further statement of that transaction fails
    /// rather than run, outside it, on a new connection.
    private var lostInTransaction = false

    public init(_ settings: PostgreSQLSettings) {
        self.settings = settings
    }

    deinit { PQfinish(connection) }

    /// The open connection, opening it if there is none.
    private func connected() throws -> OpaquePointer {
        if lostInTransaction { throw StoreUnavailable(message: "the connection was lost inside this transaction") }
        if let connection {
            // Known dead (a failed ROLLBACK, say): start over rather than fail once more on it.
            if PQstatus(connection) == CONNECTION_OK { return connection }
            drop()
            if lostInTransaction { throw StoreUnavailable(message: "the connection was lost inside this transaction") }
        }
        let fresh = try Self.connect(settings)
        connection = fresh
        return fresh
    }

    /// Opens a connection. The URL is expanded by libpq itself (`expand_dbname`), so every form it
    /// accepts works; the timeouts come after it and override any the URL sets.
    static func connect(_ settings: PostgreSQLSettings) throws -> OpaquePointer {
        var parameters: [(String, String)] = [
            ("application_name", PostgreSQLSettings.applicationName),
            ("dbname", settings.url),
            ("client_encoding", "UTF8"),
            ("connect_timeout", String(settings.connectTimeout)),
            ("options", settings.sessionOptions),
        ]
        if let password = settings.password { parameters.append(("password", password)) }
        let connection = withCStrings(parameters.map(\.0)) { keywords in
            withCStrings(parameters.map(\.1)) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(connection)
            throw StoreUnavailable(message: message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return connection
    }

    /// Forgets a dead connection (its prepared statements die with it).
    private func drop() {
        PQfinish(connection)
        connection = nil
        statements.removeAll()
        if inTransaction { lostInTransaction = true }
    }

    /// The error of a failed result; a lost connection is dropped and reported as `StoreUnavailable`.
    private func failure(_ result: OpaquePointer?, _ connection: OpaquePointer) -> Error {
        let message = result.flatMap { PQresultErrorMessage($0) }.map { String(cString: $0) }
            ?? String(cString: PQerrorMessage(connection))
        let sqlState = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
        let trimmed = message.trimmingCharacters(in: .whitespacesAndNewlines)
        // Class 08: connection exceptions; 57P01–57P03: the server is shutting down, crashed or starting.
        if result == nil || PQstatus(connection) == CONNECTION_BAD || sqlState?.hasPrefix("08") == true
            || ["57P01", "57P02", "57P03"].contains(sqlState ?? "") {
            drop()
            return StoreUnavailable(message: trimmed)
        }
        // Lock and statement timeouts (database.busy_timeout), a deadlock victim: transient, 503.
        switch sqlState {
        case "55P03": return StoreBusy(waitedFor: "a PostgreSQL lock", timeout: settings.busyTimeout)
        case "57014": return StoreBusy(waitedFor: "a PostgreSQL statement (statement_timeout)", timeout: settings.busyTimeout)
        case "40P01": return StoreBusy(waitedFor: "a PostgreSQL lock (deadlock detected)", timeout: settings.busyTimeout)
        default: return DatabaseError(code: 0, message: trimmed, sqlState: sqlState)
        }
    }

    /// Runs `attempt` once more on a fresh connection when an idle connection turns out dead (the
    /// server restarted, or its backend was killed, since this thread last used it), so the first
    /// request after an outage does not fail for it. Only where repeating cannot apply anything
    /// twice: outside a transaction, for `BEGIN` and plain reads. Any other statement met by a
    /// lost connection answers `StoreUnavailable`, and the next one reconnects.
    private func reconnectingOnce<R>(_ sql: String, _ attempt: () throws -> R) throws -> R {
        let reused = connection != nil && !inTransaction
        do {
            return try attempt()
        } catch is StoreUnavailable where reused && (sql.hasPrefix("BEGIN") || (sql.hasPrefix("SELECT ") && !sql.contains(" FOR UPDATE"))) {
            return try attempt()
        }
    }

    /// Runs `sql` (prepared once per connection) with `bindings`; the caller clears the result.
    private func execute(_ sql: String, _ bindings: [SQLValue]) throws -> OpaquePointer {
        try reconnectingOnce(sql) { try executeOnce(sql, bindings) }
    }

    private func executeOnce(_ sql: String, _ bindings: [SQLValue]) throws -> OpaquePointer {
        let connection = try connected()
        let name: String
        if let prepared = statements[sql] {
            name = prepared
        } else {
            name = "s\(statements.count)"
            let result = PQprepare(connection, name, SQLPlaceholders.numbered(sql), 0, nil)
            guard PQresultStatus(result) == PGRES_COMMAND_OK else {
                let error = failure(result, connection)
                PQclear(result)
                throw error
            }
            PQclear(result)
            statements[sql] = name
        }
        let parameters = try Parameters(bindings)
        defer { parameters.free() }
        let result = PQexecPrepared(connection, name, Int32(bindings.count), parameters.values, parameters.lengths, parameters.formats, 0)
        let status = PQresultStatus(result)
        guard let result, status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            let error = failure(result, connection)
            PQclear(result)
            throw error
        }
        return result
    }

    /// Statements without parameters (schema, transaction control), through the simple protocol.
    public func execute(_ sql: String) throws {
        try reconnectingOnce(sql) { try executeSimple(sql) }
    }

    private func executeSimple(_ sql: String) throws {
        let connection = try connected()
        let result = PQexec(connection, sql)
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY else {
            let error = failure(result, connection)
            PQclear(result)
            throw error
        }
        PQclear(result)
    }

    public func query(_ sql: String, _ bindings: [SQLValue], _ body: (Row) throws -> Void) throws {
        let result = try execute(sql, bindings)
        defer { PQclear(result) }
        for row in 0..<PQntuples(result) { try body(Row(source: .postgreSQL(result, row))) }
    }

    public func first<T>(_ sql: String, _ bindings: [SQLValue], _ map: (Row) throws -> T) throws -> T? {
        let result = try execute(sql, bindings)
        defer { PQclear(result) }
        return PQntuples(result) > 0 ? try map(Row(source: .postgreSQL(result, 0))) : nil
    }

    @discardableResult
    public func run(_ sql: String, _ bindings: [SQLValue]) throws -> Int {
        let result = try execute(sql, bindings)
        defer { PQclear(result) }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    /// READ COMMITTED, as PostgreSQL starts it. Unlike SQLite's `BEGIN IMMEDIATE` this does not
    /// serialise writers: each read-modify-write says what it locks (`FOR UPDATE` on the row it
    /// replaces, `serializeWriters(on:)` for rows that may not exist yet), so writers of different
    /// sessions and users never wait for each other.
    ///
    /// Durability: `.normal` commits as the server is set (`synchronous_commit`, `on` by default:
    /// a rotation survives a crash of PostgreSQL or of its machine); `.full` forces `on` for its
    /// transaction whatever the server or role says, so an operator who turns it off for speed
    /// still never loses a revocation. A `.full` call nested in a `.normal` transaction raises it
    /// where it stands (`SET LOCAL`), no re-run needed as on SQLite.
    public func transaction<T>(_ kind: TransactionKind, _ body: () throws -> T) throws -> T {
        let durability = kind.durability
        if let open = openDurability {
            if durability == .full && open != .full {
                try execute("SET LOCAL synchronous_commit = on")
                openDurability = .full
            }
            return try body()
        }
        try execute(durability == .full ? "BEGIN; SET LOCAL synchronous_commit = on" : "BEGIN")
        openDurability = durability
        defer {
            openDurability = nil
            lostInTransaction = false
        }
        do {
            let value = try body()
            let connection = try connected()
            let result = PQexec(connection, "COMMIT")
            defer { PQclear(result) }
            guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw failure(result, connection) }
            // A transaction aborted by an error the body caught "commits" as a rollback: not a success.
            guard String(cString: PQcmdStatus(result)) == "COMMIT" else {
                throw DatabaseError(code: 0, message: "the transaction was rolled back by an earlier error", sqlState: "25P02")
            }
            return value
        } catch {
            if let connection, !lostInTransaction { PQclear(PQexec(connection, "ROLLBACK")) }
            throw error
        }
    }

    /// A transaction-scoped advisory lock on a 64-bit hash of the key (see `SQLConnection`).
    public func serializeWriters(on key: String) throws {
        try run("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [.text(key)])
    }
}

/// `PQexecPrepared`'s parameter arrays: text format for numbers and text, binary for blobs (no
/// escaping). Text parameters are C strings, so a value with a NUL byte cannot be sent as it is:
/// it is refused (PostgreSQL's text cannot hold one either, so no stored value could match it).
private struct Parameters {
    var values: [UnsafePointer<CChar>?]
    var lengths: [Int32]
    var formats: [Int32]

    init(_ bindings: [SQLValue]) throws {
        values = []
        lengths = []
        formats = []
        values.reserveCapacity(bindings.count)
        for binding in bindings {
            var length: Int32 = 0
            var format: Int32 = 0
            let value: UnsafeMutablePointer<CChar>?
            switch binding {
            case .null: value = nil
            case .integer(let number): value = strdup(String(number))
            case .real(let number): value = strdup("\(number)")
            case .text(let text):
                guard !text.utf8.contains(0) else {
                    free()
                    throw DatabaseError(code: 0, message: "a text value holds a NUL byte", sqlState: "22021")
                }
                value = strdup(text)
            case .blob(let bytes):
                let buffer = malloc(max(1, bytes.count))!.assumingMemoryBound(to: CChar.self)
                bytes.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(buffer), byteCount: bytes.count) }
                value = buffer
                length = Int32(bytes.count)
                format = 1
            }
            values.append(UnsafePointer(value))
            lengths.append(length)
            formats.append(format)
        }
    }

    func free() {
        for value in values { Foundation.free(UnsafeMutablePointer(mutating: value)) }
    }
}

/// Calls `body` with a NULL-terminated array of C strings (libpq's keyword/value arrays).
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { UnsafePointer(strdup($0)) } + [nil]
    defer { for copy in copies { free(UnsafeMutablePointer(mutating: copy)) } }
    return copies.withUnsafeBufferPointer { body($0.baseAddress!) }
}
