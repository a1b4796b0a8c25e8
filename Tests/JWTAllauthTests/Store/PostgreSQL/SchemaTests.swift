import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthStore

/// The schema is written three times: the SQLite migrations, the PostgreSQL migrations and
/// `migrate-store`'s table list. Each engine's real migrations run on a fresh database, its catalog
/// is read back (`SchemaDescription`), and the three must describe one schema. The differences the
/// engines have by design are named where the catalogs are read (`SQLiteExceptions`,
/// `PostgreSQLExceptions`); index names are not compared, only what each index covers.
@Suite(.serialized)
struct SchemaTests {
    /// Both engines' schemas, each after its own migrations on a new database.
    static func migratedSchemas() throws -> (sqlite: SchemaDescription, postgreSQL: SchemaDescription) {
        let sqlite = try SchemaDescription.read(sqlite: try SQLiteDatabase.temporaryMigrated("schema"))
        let postgreSQL = try SchemaDescription.read(postgreSQL: try TestPostgreSQL.migrated().db)
        return (sqlite, postgreSQL)
    }

    @Test func bothEnginesMigrateToTheSameTablesColumnsKeysAndIndexes() throws {
        let (sqlite, postgreSQL) = try Self.migratedSchemas()
        #expect(!sqlite.tables.isEmpty && !postgreSQL.tables.isEmpty)
        let difference = SchemaDescription.difference(("SQLite", sqlite), ("PostgreSQL", postgreSQL))
        if !difference.isEmpty { Issue.record("the migrations make different schemas:\n\(difference)") }
    }

    @Test func theStoreCopyListsEveryTableWithItsColumnsParentsFirst() throws {
        let (sqlite, postgreSQL) = try Self.migratedSchemas()
        let copied = StoreCopy.tables
        var problems: [String] = []
        // The bookkeeping table is each store's own, written by `Migrator.migrate` on both sides.
        let schemaTables = Set(postgreSQL.tables.keys).subtracting(["schema_migrations"])
        let listed = copied.map(\.name)
        if listed.count != Set(listed).count { problems.append("listed twice: \(listed.duplicates)") }
        for missing in schemaTables.subtracting(listed).sorted() { problems.append("\(missing): in the schema, not copied") }
        for extra in Set(listed).subtracting(schemaTables).sorted() { problems.append("\(extra): copied, not in the schema") }

        for (position, table) in copied.enumerated() {
            guard let target = postgreSQL.tables[table.name], let source = sqlite.tables[table.name] else { continue }
            // The rowid read from SQLite is written as PostgreSQL's `id` (`SQLiteExceptions.implicitRowID`).
            let sourceColumns = table.sourceColumns.map { $0 == "rowid" ? SQLiteExceptions.implicitRowID.name : $0 }
            problems += Self.columnProblems(table.name, "reads from SQLite", sourceColumns, source)
            problems += Self.columnProblems(table.name, "writes to PostgreSQL", table.targetColumns, target)
            if table.sourceColumns.contains("rowid") != source.keyedByRowID {
                problems.append("\(table.name): \(source.keyedByRowID ? "keyed by its rowid, which is not read" : "has no implicit rowid to read")")
            }
            // Keyset pagination and the resume point need the primary key, in its order.
            if Array(table.targetColumns.prefix(table.keyCount)) != target.primaryKey {
                problems.append("\(table.name): key \(table.targetColumns.prefix(table.keyCount)), primary key \(target.primaryKey)")
            }
            let hasIdentity = target.column("id")?.identity ?? false
            if table.hasIdentity != hasIdentity {
                problems.append("\(table.name): hasIdentity \(table.hasIdentity), but the identity `id` is \(hasIdentity ? "there" : "not there")")
            }
            for key in target.foreignKeys where key.parent != table.name {
                let parentPosition = listed.firstIndex(of: key.parent)
                if parentPosition.map({ $0 > position }) ?? false {
                    problems.append("\(table.name): copied before its parent \(key.parent)")
                }
            }
        }
        if !problems.isEmpty { Issue.record("StoreCopy.tables does not match the schema:\n\(problems.joined(separator: "\n"))") }
    }

    /// 0015 rebuilds SQLite tables in place: a store made before it keeps its rows and its
    /// cascades, and a NULL key is refused from then on.
    @Test func sqliteTextKeysBecomeNotNullKeepingTheirRows() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("schema-\(UUID().uuidString).sqlite3").path
        let db = try SQLiteDatabase(path: path)
        // The bookkeeping table as releases before 0015 made it.
        try db.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)")
        try Migrator.migrate(db, migrations: Array(Migrator.all.prefix { $0.name < "0015" }))
        let user = try UserStore(db).create(email: "a@example.com", passwordHash: "x", emailVerified: true)
        try db.run("INSERT INTO mfa_challenges (id_digest, user_id, kind, failures, expires) VALUES ('c', ?, 'login', 2, 9)", [.integer(user.id)])
        try db.run("INSERT INTO social_id_tokens (digest, expires) VALUES ('d', 9)")
        try db.run("INSERT INTO reauthentications (session, user_id, at) VALUES ('s', ?, 9)", [.integer(user.id)])
        let before = try Migrator.applied(db)

        #expect(try Migrator.migrate(db) == ["0015_text_keys_not_null"])
        #expect(try Migrator.applied(db) == before + ["0015_text_keys_not_null"])
        #expect(try db.first("SELECT user_id, kind, failures, expires FROM mfa_challenges WHERE id_digest = 'c'") {
            "\($0.int(0)) \($0.string(1)) \($0.int(2)) \($0.int(3))"
        } == "\(user.id) login 2 9")
        #expect(try db.first("SELECT expires FROM social_id_tokens WHERE digest = 'd'") { $0.int(0) } == 9)
        #expect(try db.first("SELECT user_id, at FROM reauthentications WHERE session = 's'") { [$0.int(0), $0.int(1)] } == [user.id, 9])
        #expect(throws: DatabaseError.self) { try db.run("INSERT INTO social_id_tokens (digest, expires) VALUES (NULL, 9)") }
        #expect(throws: DatabaseError.self) { try db.run("INSERT INTO schema_migrations (name, applied_at) VALUES (NULL, 9)") }
        // The rebuilt tables still cascade from their account (their indexes: the test above).
        try db.run("DELETE FROM users WHERE id = ?", [.integer(user.id)])
        #expect(try db.first("SELECT (SELECT COUNT(*) FROM mfa_challenges) + (SELECT COUNT(*) FROM reauthentications)") { $0.int(0) } == 0)
    }

    /// What is wrong with `columns` as the complete list of `table`'s columns.
    static func columnProblems(_ name: String, _ direction: String, _ columns: [String], _ table: SchemaDescription.Table) -> [String] {
        let actual = Set(table.columns.map(\.name))
        var problems: [String] = []
        if columns.count != Set(columns).count { problems.append("\(name) \(direction) a column twice: \(columns.duplicates)") }
        let missing = actual.subtracting(columns).sorted(), unknown = Set(columns).subtracting(actual).sorted()
        if !missing.isEmpty { problems.append("\(name) \(direction) without \(missing)") }
        if !unknown.isEmpty { problems.append("\(name) \(direction) columns the table lacks: \(unknown)") }
        return problems
    }
}

private extension Array where Element == String {
    var duplicates: [String] { Dictionary(grouping: self) { $0 }.filter { $0.value.count > 1 }.keys.sorted() }
}
