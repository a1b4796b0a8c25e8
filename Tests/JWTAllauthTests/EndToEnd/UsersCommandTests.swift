import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthDomain
@testable import AllauthStore

/// `jwt-allauth users …`, `create-user`, `mail --last-link` and the command line's errors, run as an
/// operator runs them (the built binary) against a live instance with real rows.
@Suite(.serialized)
struct UsersCommandTests {
    // MARK: list and show

    @Test func listFiltersBySearchRoleAndState() throws {
        let instance = try TestInstance()
        try instance.createUser("zoe@example.com", role: Role.staff, firstName: "Zoë", lastName: "Ærøskøbing")
        try instance.createUser("plain@example.com")
        try instance.createUser("gone@example.com", role: Role.superuser, active: false)
        try instance.createUser("odd_name@example.com", role: 300)
        #expect(try instance.command(["invite", "--email", "Invitee@Example.com", "--role", "superuser"]).status == 0)

        let all = try instance.command(["users", "list"])
        #expect(all.status == 0 && all.output.contains("5 account(s)"), "\(all.output)")
        #expect(all.output.contains("ID") && all.output.contains("LAST LOGIN"), "a table with a header: \(all.output)")
        let zoe = try #require(all.output.split(separator: "\n").first { $0.contains("zoe@example.com") })
        #expect(zoe.contains("staff (1000)") && zoe.contains("yes"), "\(zoe)")

        // Any case, any script, the names too; wildcards and SQL are only text.
        #expect(try instance.command(["users", "list", "--search", "ærø"]).output.contains("1 account(s)"))
        #expect(try instance.command(["users", "list", "--search", "ZOË"]).output.contains("zoe@example.com"))
        #expect(try instance.command(["users", "list", "--search", "PLAIN@"]).output.contains("plain@example.com"))
        #expect(try instance.command(["users", "list", "--search", "_"]).output.contains("1 account(s)"), "only the address with an underscore")
        #expect(try instance.command(["users", "list", "--search", "%"]).output.contains("0 account(s)"))
        #expect(try instance.command(["users", "list", "--search", "' OR 1=1 --"]).output.contains("0 account(s)"))

        let staff = try instance.command(["users", "list", "--role", "staff"])
        #expect(staff.output.contains("1 account(s)") && staff.output.contains("zoe@example.com"), "\(staff.output)")
        let superusers = try instance.command(["users", "list", "--role", "900"])
        #expect(superusers.output.contains("2 account(s)") && superusers.output.contains("invitee@example.com"), "\(superusers.output)")
        #expect(try instance.command(["users", "list", "--role", "300"]).output.contains("odd_name@example.com"))
        let inactive = try instance.command(["users", "list", "--inactive"])
        #expect(inactive.output.contains("1 account(s)") && inactive.output.contains("gone@example.com"), "\(inactive.output)")
        #expect(try instance.command(["users", "list", "--role", "user", "--inactive"]).output.contains("0 account(s)"))

        let json = try instance.command(["users", "list", "--role", "SuperUser", "--json"])
        let rows = try #require(try JSONValue.parse(Array(json.output.utf8)).array, "\(json.output)")
        #expect(rows.compactMap { $0["email"]?.string }.sorted() == ["gone@example.com", "invitee@example.com"])
        #expect(rows.allSatisfy { $0["role"]?.int == 900 && $0["role_name"]?.string == "superuser" })
        #expect(rows.first { $0["email"]?.string == "gone@example.com" }?["is_active"]?.bool == false)

        // The invitee: no password yet, not verified, its invitation outstanding.
        let invitee = try instance.command(["users", "show", "INVITEE@example.com"])
        #expect(invitee.status == 0, "\(invitee.output)")
        for line in ["role:        superuser (900)", "(not verified)", "password:    none", "links:       invitation", "sessions:    0 open"] {
            #expect(invitee.output.contains(line), "\(line) in \(invitee.output)")
        }
        let unknownRole = try instance.command(["users", "list", "--role", "king"])
        #expect(unknownRole.status == 1 && unknownRole.output.contains("unknown role \"king\""), "\(unknownRole.output)")
    }

    @Test func showGivesSessionsSecondFactorSocialConnectionsAndLinks() throws {
        let instance = try TestInstance.mfa("optional")
        let account = try Self.fullAccount(instance, "full@example.com", role: Role.staff)
        let text = try instance.command(["users", "show", "Full@Example.com"])
        #expect(text.status == 0, "\(text.output)")
        for line in ["account \(account.user.id) <full@example.com>", "name:        Ada Lovelace", "role:        staff (1000)",
                     "active:      yes", "(verified)", "password:    set", "mfa:         TOTP, 9 recovery code(s) left",
                     "social:      example (uid sub-full)", "links:       password_reset", "sessions:    \(account.sessionIDs.count) open", account.sessionIDs[0]] {
            #expect(text.output.contains(line), "\(line) in \(text.output)")
        }
        #expect(account.sessionIDs.count == 2 && !text.output.contains("last login:  never"))

        let json = try JSONValue.parse(Array(try instance.command(["users", "show", "full@example.com", "--json"]).output.utf8))
        #expect(json["id"]?.int == Int(account.user.id) && json["role"]?.int == 1000 && json["is_active"]?.bool == true)
        #expect(json["mfa"]?["totp"]?.bool == true && json["mfa"]?["recovery_codes_left"]?.int == 9)
        #expect(json["social_accounts"]?[0]?["provider"]?.string == "example")
        #expect(Set(json["sessions"]?.array?.compactMap { $0["session"]?.string } ?? []) == Set(account.sessionIDs))
        #expect(json["outstanding_links"]?.array?.compactMap(\.string) == ["password_reset"])

        let missing = try instance.command(["users", "show", "nobody@example.com"])
        #expect(missing.status == 1 && missing.output == "jwt-allauth: error: no account with nobody@example.com\n", "\(missing.output)")

        // A name no endpoint would take (an import's) cannot drive the operator's terminal.
        try instance.createUser("esc@example.com", firstName: "Eve\u{1B}[2J", lastName: "\u{202E}lasreveR")
        for arguments in [["users", "show", "esc@example.com"], ["users", "list", "--search", "eve"]] {
            let shown = try instance.command(arguments)
            #expect(shown.status == 0 && shown.output.contains("esc@example.com") && !shown.output.contains("\u{1B}")
                    && !shown.output.contains("\u{202E}"), "\(shown.output)")
        }
        #expect(try instance.command(["users", "show", "esc@example.com"]).output.contains("name:        Eve\u{FFFD}[2J \u{FFFD}lasreveR"))
        #expect(try instance.command(["users", "show", "esc@example.com", "--json"]).output.contains(#"Eve\u001b[2J"#))
    }

    // MARK: changing

    @Test func setPasswordRefusesWeakOnesThenEndsEverySessionAndTheNewOneLogsIn() throws {
        let instance = try TestInstance()
        try instance.createUser("pat@example.com", firstName: "Patricia")
        let first = try instance.session("pat@example.com")
        let second = try instance.session("pat@example.com")

        for (weak, reason) in [("short", "too short"), ("password123", "too common"), ("12345678901", "entirely numeric"),
                               ("pat@example.com1", "too similar to the email address"), ("Patricia1", "too similar to the first name")] {
            let refused = try instance.command(["users", "set-password", "pat@example.com"], input: weak + "\n")
            #expect(refused.status == 1 && Self.isOneErrorLine(refused.output) && refused.output.contains(reason), "\(weak): \(refused.output)")
        }
        let empty = try instance.command(["users", "set-password", "pat@example.com"], input: "")
        #expect(empty.status == 1 && empty.output.contains("no password on standard input"), "\(empty.output)")
        #expect(try instance.refresh(cookie: first.refresh).status == 200, "a refused password changes nothing")
        #expect(try instance.login("pat@example.com").status == 200)

        let set = try instance.command(["users", "set-password", "PAT@example.com"], input: "  N3w-Long-Secret  \n")
        #expect(set.status == 0 && set.output.contains("set the password of pat@example.com"), "\(set.output)")
        #expect(try instance.refresh(cookie: second.refresh).status == 401, "every earlier session ended")
        #expect(try instance.whitelistRows(userID: try Self.id(instance, "pat@example.com")) == 0)
        #expect(try instance.login("pat@example.com").status == 401, "the old password is gone")
        #expect(try instance.login("pat@example.com", password: "N3w-Long-Secret").status == 200, "trimmed, as the API's fields are")
        let log = try String(contentsOf: instance.directory.appendingPathComponent("log/security.log"), encoding: .utf8)
        #expect(log.contains("event=password_changed user=\(try Self.id(instance, "pat@example.com"))"), "\(log)")

        // An invitee's password set by the operator: its link is spent, and its unverified address is pointed out.
        #expect(try instance.command(["invite", "--email", "invitee@example.com"]).status == 0)
        let invitee = try instance.command(["users", "set-password", "invitee@example.com"], input: "Inv1tee-Secret\n")
        #expect(invitee.status == 0 && invitee.output.contains("verify-email --email invitee@example.com"), "\(invitee.output)")
        #expect(try instance.command(["users", "show", "invitee@example.com"]).output.contains("links:       none"))
    }

    @Test func setRoleReachesTheNextTokenAndDeactivationLocksOutUntilActivated() throws {
        let instance = try TestInstance(environment: ["JWT_ALLAUTH_ACCOUNTS_INVITATIONS": "true"])
        try instance.createUser("rita@example.com")
        let session = try instance.session("rita@example.com")
        #expect(try JWTParts(session.access).claims["role"]?.int == 0)

        let promoted = try instance.command(["users", "set-role", "rita@example.com", "staff"])
        #expect(promoted.status == 0 && promoted.output.contains("role user (0) → staff (1000)"), "\(promoted.output)")
        let refreshed = try instance.refresh(cookie: session.refresh)
        #expect(try JWTParts(refreshed.json?["access"]?.string ?? "").claims["role"]?.int == 1000, "\(refreshed.text)")
        #expect(try instance.command(["users", "set-role", "rita@example.com", "900"]).status == 0)
        #expect(try JWTParts(try instance.session("rita@example.com").access).claims["role"]?.int == 900)
        for bad in ["king", "-1", "32768", "9e2", "staff1"] {
            // After `--`, as `-1` would otherwise read as an option.
            let refused = try Self.run(["users", "set-role", "--config", instance.configPath, "rita@example.com", "--", bad],
                                       environment: instance.environment)
            #expect(refused.status == 1 && Self.isOneErrorLine(refused.output), "\(bad): \(refused.output)")
        }
        // The only account that may invite is demoted: the operator is told.
        let demoted = try instance.command(["users", "set-role", "rita@example.com", "user"])
        #expect(demoted.status == 0 && demoted.output.contains("no active account may invite"), "\(demoted.output)")

        let live = try instance.session("rita@example.com")
        let deactivated = try instance.command(["users", "deactivate", "rita@example.com"])
        #expect(deactivated.status == 0 && deactivated.output.contains("revoked"), "\(deactivated.output)")
        #expect(try instance.login("rita@example.com").json?["code"]?.string == "no_active_account")
        #expect(try instance.refresh(cookie: live.refresh).status == 401)
        #expect(try instance.command(["users", "list", "--inactive"]).output.contains("rita@example.com"))

        let activated = try instance.command(["users", "activate", "rita@example.com"])
        #expect(activated.status == 0 && activated.output.contains("activated rita@example.com"), "\(activated.output)")
        #expect(try instance.command(["users", "activate", "rita@example.com"]).output.contains("active already"))
        #expect(try instance.login("rita@example.com").status == 200)
        // The older name still works.
        #expect(try instance.command(["deactivate", "--email", "rita@example.com"]).status == 0)
        #expect(try instance.login("rita@example.com").status == 401)
        let log = try String(contentsOf: instance.directory.appendingPathComponent("log/security.log"), encoding: .utf8)
        for event in ["role_changed", "account_deactivated", "account_activated"] { #expect(log.contains("event=\(event) "), "\(log)") }
    }

    @Test func deleteLeavesNoRowThatReferredToTheAccount() throws {
        let instance = try TestInstance.mfa("optional")
        let doomed = try Self.fullAccount(instance, "doomed@example.com", role: Role.user)
        let kept = try Self.fullAccount(instance, "kept@example.com", role: Role.user)
        let db = try instance.database()
        let tables = try Self.tablesWithUserID(db)
        #expect(tables.isSuperset(of: ["refresh_tokens", "one_time_tokens", "mfa_authenticators", "mfa_setup_secrets", "mfa_challenges",
                                       "mfa_failures", "social_accounts", "reauthentications"]), "\(tables)")
        // Every table that refers to an account holds a row of this one: the deletion has something to do in each.
        for table in tables {
            #expect(try Self.rows(db, table, userID: doomed.user.id) > 0, "\(table) has a row of the account")
        }
        let authenticators = try Self.authenticatorIDs(db, userID: doomed.user.id)
        #expect(try Self.recoveryCodes(db, authenticators) == 9 && (try instance.queuedMails(to: "doomed@example.com")) > 0)

        // Not without --yes when nobody can be asked.
        let unconfirmed = try instance.command(["users", "delete", "doomed@example.com"])
        #expect(unconfirmed.status == 1 && Self.isOneErrorLine(unconfirmed.output) && unconfirmed.output.contains("--yes"), "\(unconfirmed.output)")
        #expect(try UserStore(db).find(email: "doomed@example.com") != nil)

        let refreshTokens = try instance.whitelistRows(userID: doomed.user.id)
        let deleted = try instance.command(["users", "delete", "DOOMED@example.com", "--yes"])
        #expect(deleted.status == 0 && deleted.output.contains("deleted account \(doomed.user.id) <doomed@example.com>: \(refreshTokens) refresh token(s)"),
                "\(deleted.output)")
        #expect(try UserStore(db).find(id: doomed.user.id) == nil)
        for table in tables {
            #expect(try Self.rows(db, table, userID: doomed.user.id) == 0, "\(table) still has a row of the deleted account")
        }
        #expect(try Self.recoveryCodes(db, authenticators) == 0)
        #expect(try instance.queuedMails(to: "doomed@example.com") == 0)
        #expect(try instance.refresh(cookie: doomed.refresh).status == 401)
        #expect(try instance.command(["users", "show", "doomed@example.com"]).status == 1)

        // The other account keeps all of its own.
        for table in tables { #expect(try Self.rows(db, table, userID: kept.user.id) > 0, "\(table) kept the other account's rows") }
        #expect(try instance.refresh(cookie: kept.refresh).status == 200)
        #expect(try Self.recoveryCodes(db, try Self.authenticatorIDs(db, userID: kept.user.id)) == 9)
        // The address is free again.
        #expect(try instance.command(["create-user", "--email", "doomed@example.com"]).status == 0)
    }

    // MARK: create-user, errors, version

    @Test func createUserChecksAddressPasswordNamesAndRoleAsSignUpDoes() throws {
        let instance = try TestInstance()
        let refusals: [([String], String?, String)] = [
            (["--email", "short@example.com", "--password-stdin"], "short\n", "too short"),
            (["--email", "common@example.com", "--password-stdin"], "password1\n", "too common"),
            (["--email", "not an address", "--password-stdin"], "Val1d-Passw0rd!\n", "not a valid e-mail address"),
            (["--email", "user@bücher.de"], nil, "ASCII (xn--) form"),
            (["--email", String(repeating: "a", count: 95) + "@x.com"], nil, "longer than 100"),
            (["--email", "names@example.com", "--first-name", "R2-D2"], nil, "first_name"),
            (["--email", "role@example.com", "--role", "admin"], nil, "unknown role \"admin\""),
        ]
        for (arguments, input, reason) in refusals {
            let refused = try instance.command(["create-user"] + arguments, input: input)
            #expect(refused.status == 1 && Self.isOneErrorLine(refused.output) && refused.output.contains(reason), "\(arguments): \(refused.output)")
        }
        #expect(try instance.userCount == 0, "nothing refused was created")
        #expect(try instance.login("short@example.com", password: "short").status == 401)

        let created = try instance.command(["create-user", "--email", "Boss@Example.com", "--role", "superuser", "--first-name", "Ana María",
                                            "--password-stdin"], input: "S3cure-Passw0rd\n")
        #expect(created.status == 0 && created.output.contains("<boss@example.com> role superuser (900)"), "\(created.output)")
        let login = try instance.login("boss@example.com", password: "S3cure-Passw0rd")
        #expect(try JWTParts(login.json?["access"]?.string ?? "").claims["role"]?.int == 900, "\(login.text)")
        let taken = try instance.command(["create-user", "--email", "BOSS@example.com"])
        #expect(taken.status == 1 && Self.isOneErrorLine(taken.output) && taken.output.contains("exists already"), "\(taken.output)")
    }

    @Test func runtimeErrorsAreOneLineAndUsageErrorsKeepTheUsage() throws {
        let instance = try TestInstance()
        let unknown = try instance.command(["users", "deactivate", "ghost@example.com"])
        #expect(unknown.status == 1 && unknown.output == "jwt-allauth: error: no account with ghost@example.com\n", "\(unknown.output)")
        let badConfig = try instance.command(["users", "list"], extraEnvironment: ["JWT_ALLAUTH_ACCOUNTS_PASSWORD_MIN_LENGHT": "9"])
        #expect(badConfig.status == 1 && Self.isOneErrorLine(badConfig.output) && badConfig.output.contains("PASSWORD_MIN_LENGTH"), "\(badConfig.output)")
        let noFile = try Self.run(["users", "list", "--config", "/nonexistent/config.yaml"])
        #expect(noFile.status == 1 && noFile.output == "jwt-allauth: error: config: /nonexistent/config.yaml does not exist\n", "\(noFile.output)")
        let noMail = try instance.command(["mail", "--last-link", "ghost@example.com"])
        #expect(noMail.status == 1 && Self.isOneErrorLine(noMail.output), "\(noMail.output)")

        let usage = try instance.command(["users", "list", "--bogus"])
        #expect(usage.status == 64 && usage.output.contains("Usage: jwt-allauth users list"), "\(usage.output)")
        let missing = try Self.run(["users", "show"])
        #expect(missing.status == 64 && missing.output.contains("Usage:"), "\(missing.output)")
        let help = try Self.run(["users", "--help"])
        #expect(help.status == 0 && help.output.contains("set-password") && help.output.contains("staff (1000)"), "\(help.output)")

        let version = try Self.run(["--version"])
        #expect(version.status == 0 && version.output == Version.release + "\n", "\(version.output)")
    }

    // MARK: the local instance

    @Test func mailLastLinkGivesEachAddressItsOwnNewestLink() throws {
        let instance = try TestInstance()
        for address in ["first@example.com", "second@example.com"] {
            #expect(try instance.register(address).status == 201)
        }
        var links: [String: String] = [:]
        for address in ["first@example.com", "second@example.com"] {
            #expect(instance.eventually { (try? instance.command(["mail", "--last-link", address]))?.status == 0 }, "\(address)'s mail arrives")
            let printed = try instance.command(["mail", "--last-link", address.uppercased()])
            let link = printed.output.trimmingCharacters(in: .newlines)
            #expect(printed.status == 0 && !link.contains("\n") && link.contains("/registration/verification/"), "\(printed.output)")
            // The link's key is the one the service issued to that address's account (stored hashed).
            let key = String(link.split(separator: "/").last ?? "")
            let owner = try OneTimeTokens(instance.database()).find(key, purposes: [.emailConfirmation], now: Int64(Date().timeIntervalSince1970))
            #expect(try owner?.userID == Self.id(instance, address), "\(link)")
            links[address] = link
        }
        #expect(links["first@example.com"] != links["second@example.com"])
        // Following the first link confirms the first address only.
        let page = try instance.client.get(instance.path(of: try #require(links["first@example.com"])))
        #expect(try instance.pressConfirmButton(on: page)?.status == 302)
        #expect(try instance.command(["users", "show", "first@example.com"]).output.contains("(verified)"))
        #expect(try instance.command(["users", "show", "second@example.com"]).output.contains("(not verified)"))

        // A reset link mailed later is now the newest.
        #expect(try instance.client.post("\(instance.mount)/password/reset/", json: #"{"email":"first@example.com"}"#).status == 200)
        #expect(instance.eventually {
            (try? instance.command(["mail", "--last-link", "first@example.com"]))?.output.contains("/password/reset/confirm/") == true
        })
        #expect(try instance.command(["mail", "--last-link", "second@example.com"]).output.contains("/registration/verification/"))
    }

    @Test func theLocalInstanceIsFoundFromTheCheckout() throws {
        let instance = try TestInstance()
        try instance.createUser("local@example.com")
        // A checkout: ./var is the instance directory `make run` made.
        let checkout = FileManager.default.temporaryDirectory.appendingPathComponent("checkout-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: checkout, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: checkout) }
        try FileManager.default.createSymbolicLink(at: checkout.appendingPathComponent("var"), withDestinationURL: instance.directory)
        let environment = instance.environment.filter { $0.key != "JWT_ALLAUTH_CONFIG" }

        let found = try Self.run(["users", "list"], environment: environment, directory: checkout)
        if FileManager.default.fileExists(atPath: "/etc/jwt-allauth/config.yaml") {
            // A host with a system configuration never falls through to the directory it is run from.
            #expect(!found.output.contains("local@example.com"), "\(found.output)")
        } else {
            #expect(found.status == 0 && found.output.contains("local@example.com"), "\(found.output)")
            #expect(found.output.contains("jwt-allauth: note: using \(checkout.path)/var/config.yaml, the local instance"), "\(found.output)")
        }
        // JWT_ALLAUTH_CONFIG and --config come first.
        let variable = try Self.run(["users", "list"], environment: environment.merging(["JWT_ALLAUTH_CONFIG": "/nonexistent/a.yaml"]) { $1 },
                                    directory: checkout)
        #expect(variable.status == 1 && variable.output.contains("/nonexistent/a.yaml"), "\(variable.output)")
        let option = try Self.run(["users", "list", "--config", instance.configPath], environment: environment, directory: checkout)
        #expect(option.status == 0 && !option.output.contains("note:"), "\(option.output)")
        // Elsewhere, without any of them, the error says where a configuration is looked for.
        let elsewhere = try Self.run(["users", "list"], environment: environment, directory: instance.directory)
        if !FileManager.default.fileExists(atPath: "/etc/jwt-allauth/config.yaml") {
            #expect(elsewhere.status == 1 && elsewhere.output.contains("give --config FILE or set JWT_ALLAUTH_CONFIG"), "\(elsewhere.output)")
        }
    }
}

extension UsersCommandTests {
    /// An account with something in every table that refers to accounts: two sessions, a reauthenticated
    /// one, TOTP with ten recovery codes (one spent), a pending setup secret, an open login challenge
    /// with a failed code, a social connection, and a reset link with its mail.
    struct FullAccount {
        var user: UserRecord
        var refresh: String
        var sessionIDs: [String]
    }

    static func fullAccount(_ instance: TestInstance, _ email: String, role: Int) throws -> FullAccount {
        let user = try instance.createUser(email, role: role, firstName: "Ada", lastName: "Lovelace")
        let first = try instance.session(email)
        let (enrolment, _) = try instance.enrol(bearer: first)
        let verified = try instance.verifyRecovery(try instance.challenge(email), code: enrolment.recoveryCodes[0])
        let session = try #require(ClientSession(verified), "\(verified.text)")
        // A challenge left open with a wrong code (a success would clear the failure).
        #expect(try instance.verify(try instance.challenge(email), code: "000000").status == 400)
        let db = try instance.database()
        let now = Int64(Date().timeIntervalSince1970)
        try AuthenticatorStore(db).storeSetupSecret(userID: user.id, sealedSecret: [1, 2, 3], expires: now + 600)
        try SocialAccounts(db).connect(userID: user.id, provider: "example", uid: "sub-\(email.prefix { $0 != "@" })",
                                       claims: .object([("sub", .string("x"))]), now: now)
        #expect(try instance.client.post("\(instance.mount)/password/reset/", json: #"{"email":"\#(email)"}"#).status == 200)
        let sessions = try Whitelist(db).sessions(userID: user.id).map(\.session)
        return FullAccount(user: user, refresh: session.refresh, sessionIDs: sessions)
    }

    /// Every table of the schema with a `user_id` column, read from the engine's catalog, so a table
    /// added later is checked too.
    static func tablesWithUserID(_ db: any SQLConnection) throws -> Set<String> {
        var tables: Set<String> = []
        let sql = db.engine == .sqlite
            ? "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND p.name = 'user_id'"
            : "SELECT table_name FROM information_schema.columns WHERE column_name = 'user_id' AND table_schema = current_schema()"
        try db.query(sql) { tables.insert($0.string(0)) }
        return tables
    }

    static func rows(_ db: any SQLConnection, _ table: String, userID: Int64) throws -> Int {
        try db.first("SELECT COUNT(*) FROM \(table) WHERE user_id = ?", [.integer(userID)]) { Int($0.int(0)) } ?? -1
    }

    static func authenticatorIDs(_ db: any SQLConnection, userID: Int64) throws -> [Int64] {
        var ids: [Int64] = []
        try db.query("SELECT id FROM mfa_authenticators WHERE user_id = ?", [.integer(userID)]) { ids.append($0.int(0)) }
        return ids
    }

    static func recoveryCodes(_ db: any SQLConnection, _ authenticators: [Int64]) throws -> Int {
        try authenticators.reduce(0) { sum, id in
            sum + (try db.first("SELECT COUNT(*) FROM mfa_recovery_codes WHERE authenticator_id = ?", [.integer(id)]) { Int($0.int(0)) } ?? 0)
        }
    }

    static func id(_ instance: TestInstance, _ email: String) throws -> Int64 {
        try #require(try UserStore(instance.database()).find(email: email)).id
    }

    /// What a command that could not do its work prints: one line, no usage text.
    static func isOneErrorLine(_ output: String) -> Bool {
        output.hasPrefix("jwt-allauth: error: ") && output.hasSuffix("\n") && output.dropLast().allSatisfy { $0 != "\n" }
    }

    /// The binary with `arguments` alone (no `--config` added), in `directory`.
    static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = TestInstance.binary
        process.arguments = arguments
        process.environment = environment.isEmpty ? ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("JWT_ALLAUTH_") } : environment
        if let directory { process.currentDirectoryURL = directory }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }
}
