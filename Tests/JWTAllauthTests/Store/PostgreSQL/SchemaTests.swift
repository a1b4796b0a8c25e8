import Foundation
import Testing
@testable import JWTAllauth

/// The schema the migrations make on each engine.
@Suite(.serialized)
struct SchemaTests {
    /// 0015 rebuilds SQLite tables in place: a store made before it keeps its rows and its
    /// cascades, and a NULL key is refused from then on.
    @Test func sqliteTextKeysBecomeNotNullKeepingTheirRows() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("schema-\(UUID().uuidString).sqlite3").path
        let db = try Database(path: path)
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
        // The rebuilt tables still cascade from their account.
        try db.run("DELETE FROM users WHERE id = ?", [.integer(user.id)])
        #expect(try db.first("SELECT (SELECT COUNT(*) FROM mfa_challenges) + (SELECT COUNT(*) FROM reauthentications)") { $0.int(0) } == 0)
    }
}
