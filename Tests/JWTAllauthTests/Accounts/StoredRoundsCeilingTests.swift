import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthRuntime
@testable import AllauthStore

/// The highest round count stored, which every failed login costs.
struct StoredRoundsCeilingTests {
    static func store(_ hashes: [String], on engine: DatabaseEngine = .sqlite) throws -> (any SQLConnection, StoreLocation) {
        let db: any SQLConnection = engine == .sqlite ? try SQLiteDatabase.temporaryMigrated("rounds") : try TestPostgreSQL.migrated().db
        for (index, hash) in hashes.enumerated() {
            _ = try UserStore(db).create(email: "user\(index)@example.com", passwordHash: hash, emailVerified: true)
        }
        return (db, .sqlite(path: "rounds-\(UUID().uuidString)"))
    }

    @Test(arguments: [DatabaseEngine.sqlite, .postgreSQL])
    func theHighestCheckableRoundCountIsRead(on engine: DatabaseEngine) throws {
        #expect(try UserStore(Self.store([], on: engine).0).highestPasswordRounds() == 0)
        let (db, _) = try Self.store([
            PasswordHasher(iterations: 1000).hash("a"), "pbkdf2_sha256$870000$salt$hash", PasswordHasher.unusable(),
            "argon2$argon2id$v=19$m=102400,t=2,p=8$salt$hash", "pbkdf2_sha256$200000000$salt$hash", "pbkdf2_sha256$x$salt$hash",
            "pbkdf2_sha256$99999999999999999999$salt$hash", "pbkdf2_sha256$$salt$hash", "pbkdf2_sha256",
        ], on: engine)
        #expect(try UserStore(db).highestPasswordRounds() == 870_000, "beyond PasswordHasher.maximumRounds is never checked")
    }

    @Test(arguments: [DatabaseEngine.sqlite, .postgreSQL])
    func anImportsOtherHashersCountAtTheirEstimatedCost(on engine: DatabaseEngine) throws {
        let argon2 = DjangoPasswordHashTests.django[2], scrypt = DjangoPasswordHashTests.django[6]
        let dearest = try #require(PasswordHasher.cost(of: scrypt))
        #expect(dearest > PasswordHasher.cost(of: argon2) ?? 0)
        let (db, _) = try Self.store([
            "pbkdf2_sha256$870000$salt$hash", argon2, scrypt, "md5$salt$0123456789abcdef0123456789abcdef",
            "argon2$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        ], on: engine)
        #expect(try UserStore(db).highestPasswordRounds() == dearest, "unknown hashers and hashes past the caps are never checked")
        let ceiling = StoredRoundsCeiling(lifetime: 60)
        let (fresh, location) = try Self.store([PasswordHasher(iterations: 1000).hash("a")], on: engine)
        #expect(try ceiling.rounds(UserStore(fresh), store: location, seen: argon2, now: 0) == PasswordHasher.cost(of: argon2),
                "an argon2 hash seen raises it at once")
    }

    @Test func theCeilingIsRememberedForItsLifetimeAndRaisedByADearerHashSeen() throws {
        let (db, location) = try Self.store([PasswordHasher(iterations: 1000).hash("a")])
        let ceiling = StoredRoundsCeiling(lifetime: 60)
        let users = UserStore(db)
        #expect(try ceiling.rounds(users, store: location, now: 0) == 1000)
        let imported = "pbkdf2_sha256$50000$salt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A="
        _ = try users.create(email: "imported@example.com", passwordHash: imported, emailVerified: true)
        #expect(try ceiling.rounds(users, store: location, now: 30) == 1000, "remembered")
        #expect(try ceiling.rounds(users, store: location, seen: imported, now: 31) == 50000, "its own hash raises it at once")
        #expect(try ceiling.rounds(users, store: location, now: 32) == 50000)
        try db.run("UPDATE users SET password = ? WHERE email = ?", [.text(PasswordHasher(iterations: 1000).hash("b")), .text("imported@example.com")])
        #expect(try ceiling.rounds(users, store: location, now: 59) == 50000)
        #expect(try ceiling.rounds(users, store: location, now: 61) == 1000, "read again after its lifetime: the rehash brought it down")
    }
}
