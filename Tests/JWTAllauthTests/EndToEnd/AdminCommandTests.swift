import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthStore

/// The sysadmin commands, run as a sysadmin would, against a live instance.
@Suite(.serialized)
struct AdminCommandTests {
    @discardableResult
    func run(_ instance: TestInstance, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        try instance.command(arguments, input: input)
    }

    @Test func createUserThenLogInThroughNginx() throws {
        let instance = try TestInstance()
        let created = try run(instance, ["create-user", "--email", "Admin@Example.com", "--role", "1000", "--password-stdin"], input: "S3cure-Passw0rd\n")
        #expect(created.status == 0, "\(created.output)")
        #expect(try run(instance, ["create-user", "--email", "admin@example.com", "--password-stdin"], input: "x\n").status != 0, "duplicate refused")
        let login = try instance.login("admin@example.com", password: "S3cure-Passw0rd")
        #expect(login.status == 200)
        #expect(try JWTParts(login.json?["access"]?.string ?? "").claims["role"]?.int == 1000)
        let check = try run(instance, ["check"])
        #expect(check.status == 0 && check.output.contains("ES256"))
        #expect(try run(instance, ["migrate"]).output.contains("No migrations to apply."))
    }

    @Test func importedDjangoUsersKeepTheirPasswordsAndGetRehashed() throws {
        // More rounds configured than the imported hash has: the first login upgrades it.
        let instance = try TestInstance(environment: ["JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS": "300000"])
        let django = instance.directory.appendingPathComponent("django.sqlite3").path
        let db = try SQLiteDatabase(path: django)
        try db.execute("""
            CREATE TABLE jwt_allauth_jauser (id integer primary key, password varchar(128), last_login datetime, is_superuser bool,
                username varchar(150), first_name varchar(150), last_name varchar(150), email varchar(254), is_staff bool,
                is_active bool, date_joined datetime, role smallint unsigned);
            CREATE TABLE account_emailaddress (id integer primary key, email varchar(254), verified bool, "primary" bool, user_id integer);
            INSERT INTO jwt_allauth_jauser VALUES (1, 'pbkdf2_sha256$260000$AbCdEfGh12345678$9WuNWjYkQdZ/fYys+bPliFs0eDdHUBU9iuR++drSsdU=',
                '2025-03-10 20:15:01.123456', 0, 'person', 'Ana', 'Núñez', 'person1@world.com', 1, 1, '2025-01-01 10:00:00', 1000);
            INSERT INTO jwt_allauth_jauser VALUES (2, '!unusable', NULL, 0, 'x', '', '', '', 0, 1, '2025-01-01 10:00:00', 0);
            INSERT INTO jwt_allauth_jauser VALUES (3, 'md5$salt$0123456789abcdef0123456789abcdef', NULL, 0, 'old', '', '', 'old@world.com',
                0, 1, '2025-01-01 10:00:00', 0);
            INSERT INTO account_emailaddress VALUES (1, 'person1@world.com', 1, 1, 1);
            """)
        let imported = try run(instance, ["import-django-users", django])
        #expect(imported.status == 0)
        #expect(imported.output.contains("imported 2 user(s)") && imported.output.contains("1 without e-mail"), "\(imported.output)")
        // A hasher this service does not check: the account comes over without a usable password, named.
        #expect(imported.output.contains("1 imported without a usable password") && imported.output.contains("argon2")
                && imported.output.contains("user 3 <old@world.com>: hasher md5 is not supported"), "\(imported.output)")
        #expect(try run(instance, ["import-django-users", django]).output.contains("skipped 2 already present"))

        let login = try instance.login("person1@world.com", password: "Val1dPasw0rd")
        #expect(login.status == 200)
        let claims = try JWTParts(login.json?["access"]?.string ?? "").claims
        #expect(claims["role"]?.int == 1000 && claims["email_verified"]?.bool == true)
        let user = try #require(try UserStore(instance.database()).find(email: "person1@world.com"))
        #expect(user.firstName == "Ana" && user.lastName == "Núñez")
        #expect(user.password.hasPrefix("pbkdf2_sha256$300000$"), "re-hashed at the configured count")
        #expect(try instance.login("person1@world.com", password: "Val1dPasw0rd").status == 200, "the new hash verifies")
    }

    @Test func purgeTokensDeletesOnlyExpiredRows() throws {
        let instance = try TestInstance()
        let user = try instance.createUser("purge@example.com")
        let live = try instance.session("purge@example.com")
        let db = try instance.database()
        let now = Int64(Date().timeIntervalSince1970)
        try Whitelist(db).insert(WhitelistEntry(jti: TokenService.newIdentifier(), session: TokenService.newIdentifier(), userID: user.id,
                                                enabled: true, created: now - 100, expires: now - 1, sessionIat: now - 100), device: .none)
        try db.run("INSERT INTO throttle_hits (bucket, at) VALUES ('old', ?)", [.real(Double(now - 90_000))])
        let dry = try run(instance, ["purge-tokens", "--dry-run"])
        #expect(dry.output.contains("expired sessions: 1 would be deleted.") && dry.output.contains("2 expired row(s) would be deleted."), "\(dry.output)")
        #expect(try instance.whitelistRows(userID: user.id) == 2)
        let purge = try run(instance, ["purge-tokens"])
        #expect(purge.output.contains("2 expired row(s) deleted."), "\(purge.output)")
        #expect(try instance.whitelistRows(userID: user.id) == 1)
        #expect(try instance.refresh(cookie: live.refresh).status == 200, "live sessions untouched")
    }

    @Test func sessionsListsAndRevokesAUsersDevices() throws {
        let instance = try TestInstance()
        try instance.createUser("ops@example.com")
        let a = try instance.session("ops@example.com")
        _ = try instance.session("ops@example.com")
        let list = try run(instance, ["sessions", "--user", "ops@example.com"])
        #expect(list.output.contains("2 session(s) for ops@example.com"), "\(list.output)")
        let revoke = try run(instance, ["sessions", "--user", "OPS@example.com", "--revoke-all"])
        #expect(revoke.output.contains("revoked 2 refresh token(s)"))
        #expect(try instance.refresh(cookie: a.refresh).status == 401)
        #expect(try run(instance, ["sessions", "--user", "nobody@example.com"]).status != 0)
    }
}
