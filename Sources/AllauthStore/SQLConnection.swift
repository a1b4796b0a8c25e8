import CSQLite

/// The two engines behind the store. Most SQL is written once for both; where they really
/// differ (a row lock, a claim that skips locked rows) the store type that owns the table
/// switches on this, beside its portable SQL.
public enum DatabaseEngine: String, Sendable {
    case sqlite
    case postgreSQL = "postgresql"
}

/// Where the two engines' SQL really differs, as fragments the store types put into their
/// otherwise portable statements, so that no code outside the store asks which engine answers.
public struct SQLDialect: Sendable {
    /// Appended to a SELECT of rows the transaction goes on to change. SQLite needs nothing: its
    /// `BEGIN IMMEDIATE` already holds the only write lock. PostgreSQL's READ COMMITTED lets
    /// writers interleave, so the rows are locked (`FOR UPDATE`).
    public let lockRows: String
    /// Appended to a SELECT that claims rows for work (a mail process taking outbox rows): on
    /// PostgreSQL rows another host holds are skipped, not waited for (`FOR UPDATE SKIP LOCKED`).
    public let claimRows: String
    /// The column that names a row of a table without a key of its own: SQLite's implicit `rowid`,
    /// PostgreSQL's identity column `id`.
    public let rowID: String
    let engine: DatabaseEngine

    static let sqlite = SQLDialect(lockRows: "", claimRows: "", rowID: "rowid", engine: .sqlite)
    static let postgreSQL = SQLDialect(lockRows: " FOR UPDATE", claimRows: " FOR UPDATE SKIP LOCKED", rowID: "id", engine: .postgreSQL)

    /// An expression for `column`'s text after its first `prefixLength` characters, up to the next
    /// `separator` (which must be one character).
    public func field(_ column: String, after prefixLength: Int, upTo separator: String) -> String {
        switch engine {
        case .sqlite: "substr(\(column), \(prefixLength + 1), instr(substr(\(column), \(prefixLength + 1)), '\(separator)') - 1)"
        case .postgreSQL: "split_part(substr(\(column), \(prefixLength + 1)), '\(separator)', 1)"
        }
    }

    /// An expression for `text` as an integer when it is 1 to 9 digits, NULL (PostgreSQL) or its
    /// leading digits (SQLite) otherwise: PostgreSQL fails a query that casts what is no number.
    public func smallInteger(_ text: String) -> String {
        switch engine {
        case .sqlite: "CAST(\(text) AS INTEGER)"
        case .postgreSQL: "CASE WHEN \(text) ~ '^[0-9]{1,9}$' THEN CAST(\(text) AS BIGINT) END"
        }
    }
}

/// One connection to the store, used by one thread at a time: SQLite (`SQLiteDatabase`) or PostgreSQL
/// (`PostgreSQLDatabase`), chosen once from `database.url` (`StoreLocation.connect`), as jwt-kit
/// picks an algorithm. Store types (`Whitelist`, `UserStore`, `Outbox`, …) write their SQL
/// against this with `?` placeholders; handlers never see which engine answers.
public protocol SQLConnection: AnyObject {
    var engine: DatabaseEngine { get }
    /// Runs one or more statements without parameters or results (schema).
    func execute(_ sql: String) throws
    /// Runs a statement and calls `body` for each row.
    func query(_ sql: String, _ bindings: [SQLValue], _ body: (Row) throws -> Void) throws
    /// The first row mapped by `map`, or nil.
    func first<T>(_ sql: String, _ bindings: [SQLValue], _ map: (Row) throws -> T) throws -> T?
    /// Runs a statement that returns no rows; answers the number of rows changed.
    @discardableResult
    func run(_ sql: String, _ bindings: [SQLValue]) throws -> Int
    /// Runs `body` in a write transaction: committed if it returns, rolled back if it throws. Inside
    /// another transaction of this connection it joins that one. The kind says what the
    /// transaction does, and so what its commit survives (`TransactionKind.durability`).
    func transaction<T>(_ kind: TransactionKind, _ body: () throws -> T) throws -> T
    /// Inside a write transaction: makes every other writer that names `key` wait until this
    /// transaction ends. SQLite needs nothing (its `BEGIN IMMEDIATE` already admits one writer at a
    /// time); PostgreSQL's READ COMMITTED lets writers interleave, so a read-modify-write whose
    /// rows may not exist yet (a sliding-window count, a sign-up of a free address) takes a
    /// transaction-scoped advisory lock on the key.
    func serializeWriters(on key: String) throws
}

extension SQLConnection {
    /// This engine's SQL fragments.
    public var dialect: SQLDialect { engine == .sqlite ? .sqlite : .postgreSQL }

    public func query(_ sql: String, _ body: (Row) throws -> Void) throws { try query(sql, [], body) }
    public func first<T>(_ sql: String, _ map: (Row) throws -> T) throws -> T? { try first(sql, [], map) }
    @discardableResult
    public func run(_ sql: String) throws -> Int { try run(sql, []) }
    /// A `.write` transaction.
    public func transaction<T>(_ body: () throws -> T) throws -> T { try transaction(.write, body) }

    /// Inserts one row and answers its new `id` (`INSERT … RETURNING id`, which both engines speak).
    public func insert(_ sql: String, _ bindings: [SQLValue]) throws -> Int64 {
        guard let id = try first(sql + " RETURNING id", bindings, { $0.int(0) }) else {
            throw DatabaseError(code: 0, message: "no id returned: \(sql)")
        }
        return id
    }
}

public struct DatabaseError: Error, CustomStringConvertible {
    public var code: Int32
    public var message: String
    /// PostgreSQL's five-character error code; nil for SQLite.
    public var sqlState: String? = nil
    public var description: String { sqlState.map { "postgresql error \($0): \(message)" } ?? "sqlite error \(code): \(message)" }
    var isConstraintViolation: Bool { sqlState.map { $0.hasPrefix("23") } ?? (code & 0xff == SQLITE_CONSTRAINT) }
}

/// The database cannot be reached (PostgreSQL down, restarting, or the connection's backend
/// killed). The request that meets it answers 503; the connection is dropped, and the next
/// request opens a new one.
public struct StoreUnavailable: Error, CustomStringConvertible {
    public var message: String
    public var description: String { "database unavailable: \(message)" }
}

/// What a transaction does. The store chooses from it how the transaction begins (every kind takes
/// the write lock at BEGIN) and what its commit survives, so no caller can ask for a revocation
/// that a power cut may undo.
public enum TransactionKind: Sendable, Equatable {
    /// A write whose loss in a power cut costs at most a sign-in (a rotation, a login, a counter, an
    /// outbox row): `Durability.normal`.
    case write
    /// A write that takes access away or changes how an account is entered (logout, revocation,
    /// password change or reset, deactivation, a second factor, a confirmed address): a lost one
    /// would silently give access back, so `Durability.full`.
    case accessChange

    public var durability: Durability {
        switch self {
        case .write: .normal
        case .accessChange: .full
        }
    }
}

/// What a committed transaction survives (SQLite's `synchronous` in WAL mode), as its
/// `TransactionKind` decides.
public enum Durability: Sendable, Equatable {
    /// `synchronous = NORMAL`: survives an application crash; an OS crash or power cut may lose the
    /// last transactions (never corrupts the file). Right for rotations and logins: a lost one only
    /// logs a device out.
    case normal
    /// `synchronous = FULL`: the WAL is synced before COMMIT returns, so the change survives a power
    /// cut too. For whatever takes access away (logout, revocation, password change…): a lost one
    /// would silently give the access back.
    case full
}

/// A value bound to, or read from, a statement.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    public init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
    public init(_ value: Int) { self = .integer(Int64(value)) }
    public init(_ value: Bool?) { self = value.map { .integer($0 ? 1 : 0) } ?? .null }
}

/// One SQLite connection, used by one thread at a time. Statements are prepared once and cached,
/// which is most of the cost of a small query.
