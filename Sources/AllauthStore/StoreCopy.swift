import Foundation

/// `jwt-allauth migrate-store`: copies every table of an SQLite store into a PostgreSQL one, for a
/// deployment moving to several hosts. Table by table in foreign-key order, in batches read with
/// keyset pagination (`WHERE key > last ORDER BY key LIMIT n`, so the millionth row costs what the
/// first did) and written in one transaction each with `ON CONFLICT DO NOTHING`. Interrupted, it
/// resumes: each table starts after the highest key the target already holds, and a batch that
/// was half-sent is simply not there. Ids are copied as they are (sessions, links and mails keep
/// pointing at the same accounts), then each identity sequence is moved past them. The result is
/// checked by counting every table on both sides.
public struct StoreCopy {
    /// One table: the columns read from the source and written to the target, in the same order,
    /// the first `keyCount` of them its key.
    struct Table {
        var name: String
        var sourceColumns: [String]
        var targetColumns: [String]
        var keyCount = 1
        /// An identity `id` whose sequence must follow the copied ids.
        var hasIdentity = true

        init(_ name: String, _ columns: [String], keyCount: Int = 1, hasIdentity: Bool = true) {
            self.name = name
            self.sourceColumns = columns
            self.targetColumns = columns
            self.keyCount = keyCount
            self.hasIdentity = hasIdentity
        }

        /// A table SQLite keeps without a key: its rowid becomes the target's identity `id`.
        static func keyedByRowID(_ name: String, _ columns: [String]) -> Table {
            var table = Table(name, ["id"] + columns)
            table.sourceColumns = ["rowid"] + columns
            return table
        }
    }

    /// Every table of the schema (`Migrator`), parents before children.
    static let tables: [Table] = [
        Table("users", ["id", "email", "email_lower", "password", "first_name", "last_name", "role", "is_active", "email_verified",
                        "date_joined", "last_login", "language"]),
        Table("refresh_tokens", ["id", "jti", "session", "user_id", "enabled", "created", "expires", "session_iat", "predecessor_jti", "ip",
                                 "browser", "browser_version", "os", "os_version", "device", "device_brand", "device_model",
                                 "is_mobile", "is_tablet", "is_pc", "is_bot"]),
        Table("one_time_tokens", ["id", "user_id", "purpose", "token_hash", "created", "expires"]),
        Table("outbox", ["id", "message_id", "kind", "sender", "recipient", "subject", "text_body", "html_body", "created", "attempts",
                         "next_attempt_at", "leased_until", "sent_at", "failed_at", "last_error"]),
        .keyedByRowID("throttle_hits", ["bucket", "at"]),
        Table("mfa_authenticators", ["id", "user_id", "type", "secret", "last_step", "created_at", "last_used_at"]),
        Table("mfa_recovery_codes", ["authenticator_id", "code_digest"], keyCount: 2, hasIdentity: false),
        Table("mfa_setup_secrets", ["user_id", "secret", "expires"], hasIdentity: false),
        Table("mfa_challenges", ["id_digest", "user_id", "kind", "failures", "expires"], hasIdentity: false),
        .keyedByRowID("mfa_failures", ["user_id", "at"]),
        Table("social_accounts", ["id", "user_id", "provider", "uid", "last_login", "date_joined", "extra_data"]),
        Table("social_id_tokens", ["digest", "expires"], hasIdentity: false),
        Table("reauthentications", ["session", "user_id", "at"], hasIdentity: false),
    ]

    /// Where a table stands, for the progress line.
    public struct Progress: Sendable {
        public var table: String
        public var copied: Int
        public var total: Int
        /// Rows an earlier, interrupted run had copied.
        public var resumedFrom: Int
        public var rowsPerSecond: Double
        public var finished: Bool
    }

    /// Rows in one table on each side after the copy.
    public struct TableCount: Sendable, Equatable {
        public var table: String
        public var source: Int
        public var target: Int
        public var matches: Bool { source == target }
    }

    public enum CopyError: Error, CustomStringConvertible, Equatable {
        case engines
        /// The target holds rows the source does not: not a store this command filled.
        case foreignRows(table: String)

        public var description: String {
            switch self {
            case .engines: "migrate-store copies from an SQLite store (--from sqlite:PATH) to a PostgreSQL one (--to postgresql://…)"
            case .foreignRows(let table):
                "the target's \(table) holds rows that are not the source's: copy into a new, empty database (or one an earlier run of this command filled)"
            }
        }
    }

    let source: any SQLConnection
    let target: any SQLConnection
    var batchSize: Int

    public init(from source: any SQLConnection, to target: any SQLConnection, batchSize: Int = 1000) throws {
        guard source.engine == .sqlite, target.engine == .postgreSQL else { throw CopyError.engines }
        self.source = source
        self.target = target
        // PostgreSQL takes at most 65535 parameters per statement.
        self.batchSize = max(1, min(batchSize, 65535 / 24))
    }

    /// Copies what the target lacks, reporting progress at most about once a second per table and
    /// once at each table's end; answers the counts of both sides.
    public func run(progress: (Progress) -> Void) throws -> [TableCount] {
        try Migrator.migrate(source)
        try Migrator.migrate(target)
        for table in Self.tables { try copy(table, progress: progress) }
        return try Self.tables.map { table in
            TableCount(table: table.name, source: try count(table.name, in: source), target: try count(table.name, in: target))
        }
    }

    private func count(_ table: String, in db: any SQLConnection) throws -> Int {
        Int(try db.first("SELECT COUNT(*) FROM \(table)") { $0.int(0) } ?? 0)
    }

    private func copy(_ table: Table, progress: (Progress) -> Void) throws {
        let keys = table.keyCount
        let sourceKey = table.sourceColumns.prefix(keys).joined(separator: ", ")
        let targetKey = table.targetColumns.prefix(keys).joined(separator: ", ")
        let total = try count(table.name, in: source)
        // Resume after the highest key already copied (an interrupted run committed whole batches).
        var cursor: [SQLValue]? = try target.first(
            "SELECT \(targetKey) FROM \(table.name) ORDER BY \(table.targetColumns.prefix(keys).map { "\($0) DESC" }.joined(separator: ", ")) LIMIT 1"
        ) { row in (0..<Int32(keys)).map { row.value($0) } }
        if let cursor { try checkResumePoint(cursor, table) }
        var copied = try cursor == nil ? 0 : countUpTo(cursor!, table)
        let started = Date()
        let copiedAtStart = copied
        var lastReport = started
        let placeholders = Array(repeating: "?", count: keys).joined(separator: ", ")
        let select = "SELECT \(table.sourceColumns.joined(separator: ", ")) FROM \(table.name)"
        while true {
            var rows: [[SQLValue]] = []
            let page = cursor.map { _ in " WHERE (\(sourceKey)) > (\(placeholders))" } ?? ""
            try source.query(select + page + " ORDER BY \(sourceKey) LIMIT ?", (cursor ?? []) + [.integer(Int64(batchSize))]) { row in
                rows.append((0..<Int32(table.sourceColumns.count)).map { row.value($0) })
            }
            guard let last = rows.last else { break }
            try insert(rows, into: table)
            cursor = Array(last.prefix(keys))
            copied += rows.count
            let now = Date()
            if now.timeIntervalSince(lastReport) >= 1 {
                lastReport = now
                progress(Progress(table: table.name, copied: copied, total: total, resumedFrom: copiedAtStart,
                                  rowsPerSecond: Double(copied - copiedAtStart) / now.timeIntervalSince(started), finished: false))
            }
            if rows.count < batchSize { break }
        }
        if table.hasIdentity {
            // The next id the service makes comes after every copied one.
            try target.run("SELECT setval(pg_get_serial_sequence('\(table.name)', 'id'), COALESCE((SELECT MAX(id) FROM \(table.name)), 0) + 1, false)")
        }
        let elapsed = max(Date().timeIntervalSince(started), 0.001)
        progress(Progress(table: table.name, copied: copied, total: total, resumedFrom: copiedAtStart,
                          rowsPerSecond: Double(copied - copiedAtStart) / elapsed, finished: true))
    }

    /// The target's last row must be the source's row of that key, column for column: otherwise the
    /// target is not a copy in progress, and resuming after it would skip the source's rows silently.
    private func checkResumePoint(_ key: [SQLValue], _ table: Table) throws {
        func row(_ columns: [String], in db: any SQLConnection) throws -> [SQLValue]? {
            let condition = columns.prefix(table.keyCount).map { "\($0) = ?" }.joined(separator: " AND ")
            return try db.first("SELECT \(columns.joined(separator: ", ")) FROM \(table.name) WHERE \(condition)", key) { row in
                (0..<Int32(columns.count)).map { row.value($0) }
            }
        }
        guard let copied = try row(table.sourceColumns, in: source), try row(table.targetColumns, in: target) == copied else {
            throw CopyError.foreignRows(table: table.name)
        }
    }

    /// Source rows up to and including `key`: what an earlier run already copied.
    private func countUpTo(_ key: [SQLValue], _ table: Table) throws -> Int {
        let sourceKey = table.sourceColumns.prefix(table.keyCount).joined(separator: ", ")
        let placeholders = Array(repeating: "?", count: key.count).joined(separator: ", ")
        return Int(try source.first("SELECT COUNT(*) FROM \(table.name) WHERE (\(sourceKey)) <= (\(placeholders))", key) { $0.int(0) } ?? 0)
    }

    private func insert(_ rows: [[SQLValue]], into table: Table) throws {
        let row = "(" + Array(repeating: "?", count: table.targetColumns.count).joined(separator: ", ") + ")"
        let sql = "INSERT INTO \(table.name) (\(table.targetColumns.joined(separator: ", "))) VALUES "
            + Array(repeating: row, count: rows.count).joined(separator: ", ") + " ON CONFLICT DO NOTHING"
        // Resuming starts after the last copied key, so a conflict means rows that are not the source's.
        let inserted = try target.transaction(.write) { try target.run(sql, rows.flatMap { $0 }) }
        if inserted != rows.count { throw CopyError.foreignRows(table: table.name) }
    }
}
