import Foundation
@testable import AllauthStore

/// One engine's schema, read from its catalog after the real migrations ran, in terms both engines
/// state the same way. Where the engines differ by design, the reader maps one onto the other under
/// a named exception (`SQLiteExceptions`, `PostgreSQLExceptions`); anything else shows as a line
/// only one side has.
struct SchemaDescription {
    struct Column {
        var name: String
        /// `integer`, `real`, `text` or `blob`; anything else keeps its engine's spelling.
        var type: String
        var notNull: Bool
        var defaultValue: String?
        /// Ids the database hands out and never reuses: SQLite's AUTOINCREMENT, PostgreSQL's identity.
        var identity = false
    }

    struct ForeignKey: Hashable {
        var columns: [String]
        var parent: String
        var parentColumns: [String]
        var onDelete: String
        var onUpdate: String
    }

    struct Index: Hashable {
        var columns: [String]
        var unique: Bool
        var partial: Bool
    }

    struct Table {
        var name: String
        var columns: [Column] = []
        var primaryKey: [String] = []
        var foreignKeys: [ForeignKey] = []
        /// Unique constraints and unique indexes alike (both engines make an index of either), and
        /// plain indexes, by their columns. Names are kept for the failure message only: an index
        /// may be named differently on each engine, as long as it covers the same columns.
        var indexes: [Index: String] = [:]
        /// SQLite only: keyed by its implicit rowid, read as `id` (`SQLiteExceptions.implicitRowID`).
        var keyedByRowID = false

        func column(_ name: String) -> Column? { columns.first { $0.name == name } }
    }

    var tables: [String: Table] = [:]

    /// One fact per line, sorted: two descriptions are the same schema when their lines are.
    var lines: [String] {
        tables.values.flatMap { table -> [String] in
            var lines = ["table \(table.name)"]
            for column in table.columns {
                var line = "column \(table.name).\(column.name) \(column.type)"
                if column.notNull { line += " NOT NULL" }
                if let value = column.defaultValue { line += " DEFAULT \(value)" }
                if column.identity { line += " IDENTITY" }
                lines.append(line)
            }
            if !table.primaryKey.isEmpty { lines.append("key \(table.name) PRIMARY KEY (\(table.primaryKey.joined(separator: ", ")))") }
            for key in table.foreignKeys {
                lines.append("key \(table.name) (\(key.columns.joined(separator: ", "))) REFERENCES \(key.parent) "
                             + "(\(key.parentColumns.joined(separator: ", "))) ON DELETE \(key.onDelete) ON UPDATE \(key.onUpdate)")
            }
            for index in table.indexes.keys {
                lines.append("index \(table.name) \(index.unique ? "UNIQUE " : "")(\(index.columns.joined(separator: ", ")))"
                             + (index.partial ? " WHERE …" : ""))
            }
            return lines
        }.sorted()
    }

    /// The lines only one side has, each side under its name; empty when the schemas agree.
    static func difference(_ left: (name: String, schema: SchemaDescription), _ right: (name: String, schema: SchemaDescription)) -> String {
        let leftLines = Set(left.schema.lines), rightLines = Set(right.schema.lines)
        var report: [String] = []
        for (name, only) in [(left.name, leftLines.subtracting(rightLines)), (right.name, rightLines.subtracting(leftLines))] where !only.isEmpty {
            report.append("only in \(name):")
            report += only.sorted().map { "  " + $0 }
        }
        return report.joined(separator: "\n")
    }
}

// MARK: - SQLite

/// Where SQLite's catalog says something PostgreSQL says differently, and it is the same schema.
enum SQLiteExceptions {
    /// SQLite's own tables (`sqlite_sequence` holds AUTOINCREMENT's counters), not the schema's.
    static func isInternal(_ table: String) -> Bool { table.hasPrefix("sqlite_") }

    /// A table declared without a primary key is keyed by its implicit rowid. PostgreSQL has no
    /// rowid, so its migration gives such a table (`throttle_hits`, `mfa_failures`) an identity
    /// `id`, and `migrate-store` copies the rowid into it (`StoreCopy.Table.keyedByRowID`). Read
    /// here as that `id`. (Without AUTOINCREMENT SQLite may hand the highest rowid out again after
    /// it was deleted; nothing keeps these rows' ids past their transaction.)
    static let implicitRowID = SchemaDescription.Column(name: "id", type: "integer", notNull: true, identity: true)

    /// A column declared exactly `INTEGER PRIMARY KEY` is the rowid itself: it cannot hold NULL (a
    /// NULL written to it becomes the next rowid), though `table_info` reports it nullable as
    /// declared. It is an identity (ids never reused) when declared AUTOINCREMENT.
    static func rowIDAlias(declaredTypes: [String: String], primaryKey: [String]) -> String? {
        guard primaryKey.count == 1, declaredTypes[primaryKey[0]]?.uppercased() == "INTEGER" else { return nil }
        return primaryKey[0]
    }
}

extension SchemaDescription {
    /// Reads an SQLite database's schema from `sqlite_master` and the table pragmas.
    static func read(sqlite db: SQLiteDatabase) throws -> SchemaDescription {
        var schema = SchemaDescription()
        var definitions: [(name: String, sql: String)] = []
        try db.query("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name") { row in
            definitions.append((row.string(0), row.string(1)))
        }
        for (name, sql) in definitions where !SQLiteExceptions.isInternal(name) {
            var table = Table(name: name)
            var keyPositions: [(position: Int64, name: String)] = []
            var declaredTypes: [String: String] = [:]
            try db.query(#"SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid"#, [.text(name)]) { row in
                table.columns.append(Column(name: row.string(0), type: typeFamily(sqlite: row.string(1)), notNull: row.bool(2),
                                            defaultValue: row.optionalString(3)))
                declaredTypes[row.string(0)] = row.string(1)
                if row.int(4) > 0 { keyPositions.append((row.int(4), row.string(0))) }
            }
            table.primaryKey = keyPositions.sorted { $0.position < $1.position }.map(\.name)
            let definition = sql.uppercased()
            if definition.contains("WITHOUT ROWID") {
                // No rowid: the table is what it declares.
            } else if table.primaryKey.isEmpty {
                table.columns.insert(SQLiteExceptions.implicitRowID, at: 0)
                table.primaryKey = [SQLiteExceptions.implicitRowID.name]
                table.keyedByRowID = true
            } else if let alias = SQLiteExceptions.rowIDAlias(declaredTypes: declaredTypes, primaryKey: table.primaryKey),
                      let index = table.columns.firstIndex(where: { $0.name == alias }) {
                table.columns[index].notNull = true
                table.columns[index].identity = definition.contains("AUTOINCREMENT")
            }
            try readForeignKeys(of: &table, db)
            try readIndexes(of: &table, db)
            schema.tables[name] = table
        }
        return schema
    }

    private static func readForeignKeys(of table: inout Table, _ db: SQLiteDatabase) throws {
        var keys: [Int64: ForeignKey] = [:]
        try db.query(#"SELECT id, "table", "from", "to", on_delete, on_update FROM pragma_foreign_key_list(?) ORDER BY id, seq"#,
                     [.text(table.name)]) { row in
            var key = keys[row.int(0)] ?? ForeignKey(columns: [], parent: row.string(1), parentColumns: [],
                                                     onDelete: row.string(4), onUpdate: row.string(5))
            key.columns.append(row.string(2))
            // `to` is NULL when the REFERENCES clause names no column: the parent's primary key.
            if let column = row.optionalString(3) { key.parentColumns.append(column) }
            keys[row.int(0)] = key
        }
        for var key in keys.values {
            if key.parentColumns.isEmpty {
                key.parentColumns = try db.first("SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk)",
                                                 [.text(key.parent)]) { $0.string(0).components(separatedBy: ",") } ?? []
            }
            table.foreignKeys.append(key)
        }
    }

    private static func readIndexes(of table: inout Table, _ db: SQLiteDatabase) throws {
        var found: [(name: String, unique: Bool, origin: String, partial: Bool)] = []
        try db.query(#"SELECT name, "unique", origin, partial FROM pragma_index_list(?)"#, [.text(table.name)]) { row in
            found.append((row.string(0), row.bool(1), row.string(2), row.bool(3)))
        }
        // The primary key's own index (`origin` pk) is the primary key, described above.
        for index in found where index.origin != "pk" {
            var columns: [String] = []
            try db.query("SELECT name FROM pragma_index_info(?) ORDER BY seqno", [.text(index.name)]) { row in
                columns.append(row.optionalString(0) ?? "<expression>")
            }
            table.indexes[Index(columns: columns, unique: index.unique, partial: index.partial)] = index.name
        }
    }

    /// SQLite's declared types as the migrations write them.
    private static func typeFamily(sqlite declared: String) -> String {
        switch declared.uppercased() {
        case "INTEGER", "BIGINT": "integer"
        case "REAL", "DOUBLE PRECISION": "real"
        case "TEXT": "text"
        case "BLOB": "blob"
        default: "sqlite \(declared)"
        }
    }
}

// MARK: - PostgreSQL

/// Where PostgreSQL's catalog says something SQLite says differently, and it is the same schema.
enum PostgreSQLExceptions {
    /// Flags are SMALLINT 0/1 on PostgreSQL where SQLite has INTEGER (PostgreSQLMigrations: so the
    /// store binds and compares them the same way on both engines). Any other SMALLINT would hold
    /// 16 bits where SQLite holds 64, and reads as `smallint`.
    static let flags: Set<String> = [
        "users.is_active", "users.email_verified",
        "refresh_tokens.enabled", "refresh_tokens.is_mobile", "refresh_tokens.is_tablet", "refresh_tokens.is_pc", "refresh_tokens.is_bot",
    ]
}

extension SchemaDescription {
    /// Reads a PostgreSQL database's schema (its current schema, `public`) from
    /// `information_schema` and the `pg_index`/`pg_constraint` catalogs.
    static func read(postgreSQL db: PostgreSQLDatabase) throws -> SchemaDescription {
        var schema = SchemaDescription()
        try db.query("""
            SELECT table_name FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
            """) { row in schema.tables[row.string(0)] = Table(name: row.string(0)) }
        try db.query("""
            SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity, identity_generation
            FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position
            """) { row in
            let table = row.string(0), name = row.string(1)
            // A cast PostgreSQL adds to a literal default (`''::text`) is not part of the value.
            let defaultValue = row.optionalString(4).map { $0.replacingOccurrences(of: #"::[a-z ]+$"#, with: "", options: .regularExpression) }
            var column = Column(name: name, type: typeFamily(postgreSQL: row.string(2), column: "\(table).\(name)"),
                                notNull: row.string(3) == "NO", defaultValue: defaultValue, identity: row.string(5) == "YES")
            // `migrate-store` writes the ids it copies, which GENERATED ALWAYS refuses.
            if column.identity && row.string(6) != "BY DEFAULT" { column.type += " (identity \(row.string(6)))" }
            schema.tables[table]?.columns.append(column)
        }
        try db.query("""
            SELECT t.relname, i.relname, x.indisprimary, x.indisunique, x.indpred IS NOT NULL,
                   (SELECT string_agg(pg_get_indexdef(x.indexrelid, k, true), ',' ORDER BY k) FROM generate_series(1, x.indnkeyatts) AS k)
            FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema()
            """) { row in
            let columns = row.string(5).components(separatedBy: ",")
            if row.bool(2) {
                schema.tables[row.string(0)]?.primaryKey = columns
            } else {
                schema.tables[row.string(0)]?.indexes[Index(columns: columns, unique: row.bool(3), partial: row.bool(4))] = row.string(1)
            }
        }
        try db.query("""
            SELECT child.relname, parent.relname, f.confdeltype, f.confupdtype,
                   (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(f.conkey) WITH ORDINALITY AS k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.attnum),
                   (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(f.confkey) WITH ORDINALITY AS k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = f.confrelid AND a.attnum = k.attnum)
            FROM pg_constraint f JOIN pg_class child ON child.oid = f.conrelid JOIN pg_class parent ON parent.oid = f.confrelid
            JOIN pg_namespace n ON n.oid = child.relnamespace WHERE f.contype = 'f' AND n.nspname = current_schema()
            """) { row in
            let key = ForeignKey(columns: row.string(4).components(separatedBy: ","), parent: row.string(1),
                                 parentColumns: row.string(5).components(separatedBy: ","),
                                 onDelete: referentialAction(row.string(2)), onUpdate: referentialAction(row.string(3)))
            schema.tables[row.string(0)]?.foreignKeys.append(key)
        }
        return schema
    }

    /// `pg_constraint`'s one-letter actions in SQLite's words.
    private static func referentialAction(_ code: String) -> String {
        switch code {
        case "a": "NO ACTION"
        case "r": "RESTRICT"
        case "c": "CASCADE"
        case "n": "SET NULL"
        case "d": "SET DEFAULT"
        default: "action \(code)"
        }
    }

    /// SQLite's integers and reals are 64-bit: BIGINT and DOUBLE PRECISION are the same, narrower
    /// types are not (but the flags).
    private static func typeFamily(postgreSQL type: String, column: String) -> String {
        switch type {
        case "bigint": "integer"
        case "smallint": PostgreSQLExceptions.flags.contains(column) ? "integer" : "smallint"
        case "integer": "integer (32-bit)"
        case "double precision": "real"
        case "real": "real (32-bit)"
        case "text": "text"
        case "bytea": "blob"
        // The store binds and compares flags as 0/1, which a BOOLEAN column refuses.
        case "boolean": "boolean"
        default: "postgresql \(type)"
        }
    }
}
