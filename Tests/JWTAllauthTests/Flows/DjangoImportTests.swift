import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthRuntime
@testable import AllauthStore

/// Users imported from a Django database that Django itself made, every password hashed by Django's
/// own hashers at their defaults (`Support/django_password_hashes.py`, in a venv of pinned PyPI
/// packages): each logs in with its password, and that first login stores the configured hasher's
/// hash in its place; a wrong password changes nothing; a tampered hash lets no one in.
struct DjangoImportTests {
    static let requirements = ["django==5.2.19", "argon2-cffi==25.1.0", "bcrypt==5.0.0"]
    static let password = "Imp0rted-Passw0rd!"
    /// Every user the script makes but the md5 one, by the local part of its address.
    static let checked = ["pbkdf2_sha256", "pbkdf2_sha1", "argon2", "argon2i", "bcrypt_sha256", "bcrypt", "scrypt"]
    static var configuredPrefix: String { "pbkdf2_sha256$\(TestInstance.passwordIterations)$" }
    /// Plain Django has no allauth address table, so no address is imported as confirmed.
    static let unconfirmedMayLogIn = ["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "optional"]

    /// Django's `auth_user` in `directory`, and the hash Django wrote for each address.
    static func djangoDatabase(in directory: URL) throws -> (path: String, hashes: [String: String]) {
        let python = try PythonVenv.python("django-password-hashes", requirements: requirements)
        let path = directory.appendingPathComponent("django.sqlite3").path
        let output = directory.appendingPathComponent("django-password-hashes.log").path
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Support/django_password_hashes.py")
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        try PythonVenv.run(python, [script.path, path, password], environment: environment, logPath: output, timeout: 120)
        let printed = PythonVenv.text(output).split(separator: "\n").last.map(String.init) ?? ""
        let hashes = try #require(try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: String], "\(printed)")
        return (path, hashes)
    }

    static func stored(_ instance: InProcessInstance, _ email: String) throws -> String? {
        try UserStore(instance.database()).find(email: email)?.password
    }

    @Test func everyHasherDjangoWritesLogsInAndIsReplacedByTheConfiguredOne() throws {
        let instance = try InProcessInstance(environment: Self.unconfirmedMayLogIn)
        let (django, hashes) = try Self.djangoDatabase(in: instance.directory)
        let report = try DjangoImport(source: try SQLiteDatabase(path: django), target: try instance.database()).run(table: nil)
        #expect(report.imported == 8)
        #expect(report.withoutUsablePassword.map(\.email) == ["md5@example.com"])
        #expect(report.withoutUsablePassword.first?.reason == .unknownHasher("md5"))
        #expect(try Self.stored(instance, "md5@example.com")?.hasPrefix(PasswordHasher.unusablePrefix) == true, "md5 is not kept")

        let unknown = try instance.login("nobody@example.com", password: Self.password, from: "192.0.2.100")
        for (index, name) in Self.checked.enumerated() {
            let email = "\(name)@example.com", client = "192.0.2.\(index + 1)"
            let imported = try #require(hashes[email])
            #expect(try Self.stored(instance, email) == imported, "kept as Django wrote it")

            let wrong = try instance.login(email, password: "Wr0ng-Passw0rd!", from: client)
            #expect(wrong.status == 401 && wrong.body == unknown.body, "\(name): \(wrong.status) \(wrong.text)")
            #expect(try Self.stored(instance, email) == imported, "\(name): a wrong password changes nothing")

            let right = try instance.login(email, password: Self.password, from: client)
            #expect(right.status == 200, "\(name): \(right.status) \(right.text)")
            let replaced = try #require(try Self.stored(instance, email))
            #expect(replaced.hasPrefix(Self.configuredPrefix), "\(name): now \(replaced.prefix(24))")
            #expect(try instance.login(email, password: Self.password, from: client).status == 200, "\(name): the new hash verifies")
        }
        #expect(try instance.login("md5@example.com", password: Self.password, from: "192.0.2.99").status == 401)
    }

    @Test func aTamperedHashLetsNoOneInAndHostileParametersAreNotKept() throws {
        let instance = try InProcessInstance(environment: Self.unconfirmedMayLogIn)
        let (django, hashes) = try Self.djangoDatabase(in: instance.directory)
        // What someone with write access to the Django database might leave there before the move.
        let source = try SQLiteDatabase(path: django)
        func tamper(_ name: String, _ change: (String) -> String) throws -> String {
            let tampered = change(try #require(hashes["\(name)@example.com"]))
            try source.run("UPDATE auth_user SET password = ? WHERE email = ?", [.text(tampered), .text("\(name)@example.com")])
            return tampered
        }
        let argon2 = try tamper("argon2") { hash in  // one character of the digest
            var characters = Array(hash)
            characters[characters.count - 10] = characters[characters.count - 10] == "A" ? "B" : "A"
            return String(characters)
        }
        let bcrypt = try tamper("bcrypt") { $0.replacingOccurrences(of: "$2b$12$", with: "$2b$04$") }
        let pbkdf2 = try tamper("pbkdf2_sha256") { $0.replacingOccurrences(of: "$1000000$", with: "$1000$") }
        _ = try tamper("argon2i") { $0.replacingOccurrences(of: "m=102400", with: "m=4194304") }
        _ = try tamper("scrypt") { $0.replacingOccurrences(of: "scrypt$16384$", with: "scrypt$1073741824$") }
        _ = try tamper("pbkdf2_sha1") { String($0.dropLast(4)) }

        let report = try DjangoImport(source: source, target: try instance.database()).run(table: nil)
        #expect(report.imported == 8)
        let refused = Dictionary(uniqueKeysWithValues: report.withoutUsablePassword.map { ($0.email, $0.reason) })
        #expect(refused.count == 4, "\(report.withoutUsablePassword)")
        #expect(refused["md5@example.com"] == .unknownHasher("md5"))
        #expect(refused["pbkdf2_sha1@example.com"] == .malformed(hasher: "pbkdf2_sha1"))
        for (email, hasher) in [("argon2i@example.com", "argon2"), ("scrypt@example.com", "scrypt")] {
            guard case .beyondCaps(hasher, _) = refused[email] else { Issue.record("\(email): \(String(describing: refused[email]))"); continue }
        }

        for (index, name) in ["argon2", "bcrypt", "pbkdf2_sha256", "argon2i", "scrypt", "pbkdf2_sha1"].enumerated() {
            let email = "\(name)@example.com"
            let before = try Self.stored(instance, email)
            let login = try instance.login(email, password: Self.password, from: "198.51.100.\(index + 1)")
            #expect(login.status == 401, "\(name): \(login.status) \(login.text)")
            #expect(try Self.stored(instance, email) == before, "\(name): nothing stored")
        }
        // Well-formed tampered hashes are kept (they never match); hostile and malformed ones are not.
        #expect(try Self.stored(instance, "argon2@example.com") == argon2)
        #expect(try Self.stored(instance, "bcrypt@example.com") == bcrypt)
        #expect(try Self.stored(instance, "pbkdf2_sha256@example.com") == pbkdf2)
        #expect(try Self.stored(instance, "scrypt@example.com")?.hasPrefix(PasswordHasher.unusablePrefix) == true)
        // The untouched ones still log in.
        #expect(try instance.login("bcrypt_sha256@example.com", password: Self.password, from: "198.51.100.20").status == 200)
    }
}
