import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthRuntime
@testable import AllauthDomain

/// Configuration is validated once at start; a bad value names its key.
struct ConfigTests {
    let base = URL(fileURLWithPath: "/etc/jwt-allauth")

    func parse(_ yaml: String, _ environment: [String: String] = [:]) throws(ConfigError) -> Config {
        try Config.parse(yaml: yaml, environment: environment, baseDirectory: base)
    }

    func error(_ yaml: String, _ environment: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try parse(yaml, environment)
            return nil
        } catch {
            return error
        }
    }

    @Test func anEmptyFileGivesTheReferenceDefaults() throws {
        let config = try parse("")
        #expect(config.tokens.accessLifetime == 1800)
        #expect(config.tokens.refreshLifetime == 14 * 86400)
        #expect(config.tokens.sessionLifetime == nil)
        #expect(config.tokens.algorithm == .rs256)
        #expect(config.cookies.refreshAsCookie)
        #expect(config.cookies.refresh.name == "refresh_token")
        #expect(config.cookies.refresh.maxAge == 1_209_600)
        #expect(config.cookies.refresh.httpOnly && config.cookies.refresh.secure)
        #expect(config.cookies.refresh.sameSite == "Lax" && config.cookies.refresh.path == "/")
        #expect(config.cookies.passwordReset.maxAge == 3600)
        #expect(config.cookies.passwordSet.maxAge == 86400)
        #expect(config.accounts.emailVerification == .none)
        #expect(config.accounts.passwordIterations == 1_000_000)
        #expect(config.accounts.registrationAllowedRoles == [1000, 900])
        #expect(config.mfa.mode == .disabled && config.mfa.issuer == "JWT-Allauth")
        #expect(config.database.path == "/etc/jwt-allauth/jwt-allauth.sqlite3")
        #expect(config.throttle.loginIP == Rate(count: 10, window: 60))
        #expect(config.throttle.loginAccount == Rate(count: 5, window: 300))
        #expect(config.tokens.rotationGrace == 10, "a lost refresh answer does not log the user out")
    }

    @Test func aHostPrefixedRefreshCookieMustBeSecureOnTheRootPathWithoutDomain() throws {
        let host = "cookies:\n  refresh_name: __Host-refresh_token\n"
        #expect(try parse(host).cookies.refresh.name == "__Host-refresh_token")
        #expect(error(host + "  refresh_secure: false\n")?.key == "cookies.refresh_name")
        #expect(error(host + "  refresh_path: /jwt-allauth/\n")?.key == "cookies.refresh_name")
        #expect(error(host + "  refresh_domain: example.com\n")?.key == "cookies.refresh_name")
        #expect(error("cookies:\n  refresh_name: \"a;b\"\n")?.key == "cookies.refresh_name")
    }

    @Test func durationsAcceptUnits() throws {
        let config = try parse("tokens:\n  access_lifetime: 5m\n  refresh_lifetime: 2w\n  session_lifetime: 30d\n  rotation_grace: 3s\n")
        #expect(config.tokens.accessLifetime == 300)
        #expect(config.tokens.refreshLifetime == 14 * 86400)
        #expect(config.tokens.sessionLifetime == 30.0 * 86400)
        #expect(config.tokens.rotationGrace == 3)
        #expect(try parse("tokens:\n  access_lifetime: 90\n").tokens.accessLifetime == 90)
        #expect(config.tokens.retiredKeyLeeway == 300, "a retired key's default leeway: five minutes to reload")
        #expect(try parse("", ["JWT_ALLAUTH_TOKENS_RETIRED_KEY_LEEWAY": "2s"]).tokens.retiredKeyLeeway == 2)
    }

    @Test func environmentOverridesTheFile() throws {
        let config = try parse("tokens:\n  access_lifetime: 5m\n", ["JWT_ALLAUTH_TOKENS_ACCESS_LIFETIME": "10m", "JWT_ALLAUTH_SERVER_WORKERS": "4"])
        #expect(config.tokens.accessLifetime == 600)
        #expect(config.server.workers == 4)
    }

    @Test func theSocketGroupIsAGroupOfThisMachineByNameOrNumber() throws {
        #expect(try parse("").server.socketGroup == nil, "the service's own group by default")
        #expect(try parse("server:\n  socket_group: \"0\"").server.socketGroup == 0)
        #expect(try parse("server:\n  socket_group: root").server.socketGroup == 0)
        let problem = error("server:\n  socket_group: no-such-group-here")
        #expect(problem?.key == "server.socket_group" && problem?.description.contains("getent group no-such-group-here") == true, "\(String(describing: problem))")
    }

    @Test func unknownKeysAndSectionsAreRefusedByName() {
        #expect(error("tokens:\n  acess_lifetime: 5m\n")?.key == "tokens.acess_lifetime")
        #expect(error("tokenz:\n  access_lifetime: 5m\n")?.problem.contains("unknown section") == true)
        #expect(error("", ["JWT_ALLAUTH_TOKENS_ACESS_LIFETIME": "5m"])?.key == "JWT_ALLAUTH_TOKENS_ACESS_LIFETIME")
    }

    @Test func aMisspeltKeyOrVariableSuggestsTheNearestKnownOne() {
        #expect(error("tokens:\n  acess_lifetime: 5m\n")?.problem == "unknown key; did you mean `tokens.access_lifetime`?")
        #expect(error("tokenz:\n  access_lifetime: 5m\n")?.problem
                == "unknown section \"tokenz\"; did you mean `tokens.access_lifetime`?")
        #expect(error("", ["JWT_ALLAUTH_TOKENS_ACESS_LIFETIME": "5m"])?.problem
                == "environment variable names no configuration key; did you mean `JWT_ALLAUTH_TOKENS_ACCESS_LIFETIME`?")
        // Nothing near: no guess.
        #expect(error("tokens:\n  colour: blue\n")?.problem == "unknown key")
    }

    @Test func errorsNameTheFileTheyAreAbout() throws {
        let path = "/etc/jwt-allauth/config.yaml"
        for (text, expected) in [("tokens: [", "config: \(path): not valid YAML"),
                                 ("tokens:\n  algorithm: none\n", "config: \(path): tokens.algorithm: ")] {
            do {
                _ = try Config.load(path: path, text: text, environment: [:])
                Issue.record("\(text) was accepted")
            } catch let error as ConfigError {
                #expect(error.description.hasPrefix(expected), "\(error.description)")
            }
        }
    }

    @Test func aMissingKeyFileNamesItsKeyAndTheCommandThatMakesOne() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        let config = try Config.parse(yaml: "tokens:\n  algorithm: ES256\n", baseDirectory: directory)
        do {
            _ = try KeySet.load(config.tokens)
            Issue.record("no key file, and yet a key set")
        } catch {
            let text = "\(error)"
            #expect(text.contains(config.tokens.signingKey) && text.contains("cannot read the file"), "\(text)")
            #expect(text.contains("(tokens.signing_key; `jwt-allauth init` writes a new set of keys"), "\(text)")
        }
    }

    @Test func badValuesNameTheirKey() {
        #expect(error("tokens:\n  access_lifetime: soon\n")?.key == "tokens.access_lifetime")
        #expect(error("server:\n  workers: 0\n")?.key == "server.workers")
        #expect(error("server:\n  workers: many\n")?.key == "server.workers")
        #expect(error("server:\n  socket_mode: rw\n")?.key == "server.socket_mode")
        #expect(error("tokens:\n  algorithm: none\n")?.key == "tokens.algorithm")
        #expect((try? parse("cookies:\n  refresh_same_site: None\n"))?.cookies.refresh.sameSite == "None")
        #expect((try? parse("accounts:\n  email_verification: optional\n"))?.accounts.emailVerification == .optional)
        #expect(error("cookies:\n  refresh_secure: maybe\n")?.key == "cookies.refresh_secure")
        #expect(error("cookies:\n  refresh_same_site: None\n  refresh_secure: false\n")?.key == "cookies.refresh_same_site")
        #expect(error("throttle:\n  login_ip: lots\n")?.key == "throttle.login_ip")
        #expect(error("accounts:\n  email_verification: sometimes\n")?.key == "accounts.email_verification")
        #expect(error("server:\n  public_url: example.com\n")?.key == "server.public_url")
        #expect(error("tokens:\n  user_attributes:\n    role: email\n")?.key == "tokens.user_attributes")
        #expect(error("tokens:\n  user_attributes:\n    org: password\n")?.key == "tokens.user_attributes")
        #expect(error("tokens: [1, 2]\n")?.key == "tokens")
        #expect(error("just a string")?.key == "(file)")
        #expect(error("tokens:\n  access_lifetime: [5m]\n")?.key == "tokens.access_lifetime")
    }

    @Test func nullMaxAgeMeansASessionCookie() throws {
        #expect(try parse("cookies:\n  refresh_max_age: null\n").cookies.refresh.maxAge == nil)
        #expect(try parse("cookies:\n  refresh_max_age: 1h\n").cookies.refresh.maxAge == 3600)
        #expect(try parse("", ["JWT_ALLAUTH_COOKIES_REFRESH_MAX_AGE": "null"]).cookies.refresh.maxAge == nil)
    }

    @Test func ratesAndTheLoadTestScale() throws {
        let config = try parse("throttle:\n  login_ip: 3/10s\n  login_account: off\n  scale: 1000\n")
        #expect(config.throttle.loginIP == Rate(count: 3, window: 10))
        #expect(config.throttle.loginAccount == nil)
        #expect(config.throttle.scale == 1000)
        #expect(Rate.parse("20/h") == Rate(count: 20, window: 3600))
        #expect(Rate.parse("0/m") == nil)
    }

    @Test func accountLimitsAndCapabilityCookiesHaveTheirDefaults() throws {
        let config = try parse("accounts:\n  email_verification: mandatory\n")
        #expect(config.throttle.registrationIP == Rate(count: 10, window: 60))
        #expect(config.throttle.passwordResetIP == Rate(count: 20, window: 60))
        #expect(config.throttle.passwordResetAddress == Rate(count: 5, window: 60))
        #expect(config.throttle.confirmationMailAddress == Rate(count: 3, window: 180))
        #expect(config.cookies.passwordReset.maxAge == 3600 && config.cookies.passwordSet.maxAge == 86400)
        #expect(config.cookies.passwordReset.name == "password_reset_access_token" && config.cookies.passwordSet.httpOnly)
        let off = try parse("throttle:\n  password_reset_address: off\n  registration_ip: 2/5s\n")
        #expect(off.throttle.passwordResetAddress == nil && off.throttle.registrationIP == Rate(count: 2, window: 5))
    }

    @Test func hashingKeepsToAboutHalfTheCoresAndWaitsABoundedTime() throws {
        let defaults = try parse("")
        #expect(defaults.accounts.hashingConcurrency == max(1, ProcessInfo.processInfo.activeProcessorCount / 2))
        #expect(defaults.accounts.hashingWait == 3)
        let set = try parse("accounts:\n  hashing_concurrency: 3\n  hashing_wait: 500ms\n", ["JWT_ALLAUTH_ACCOUNTS_HASHING_CONCURRENCY": "5"])
        #expect(set.accounts.hashingConcurrency == 5 && set.accounts.hashingWait == 0.5)
        #expect(error("accounts:\n  hashing_concurrency: 0\n")?.key == "accounts.hashing_concurrency")
        #expect(error("", ["JWT_ALLAUTH_ACCOUNTS_HASHING_CONCURRENCY": "half"])?.key == "accounts.hashing_concurrency")
        #expect(error("accounts:\n  hashing_wait: 2m\n")?.key == "accounts.hashing_wait")
    }

    @Test func relativePathsResolveAgainstTheConfigDirectory() throws {
        let config = try parse("tokens:\n  signing_key: keys/a.pem\n  verification_keys: [old/b.pem, /abs/c.pem]\n")
        #expect(config.tokens.signingKey == "/etc/jwt-allauth/keys/a.pem")
        #expect(config.tokens.verificationKeys == ["/etc/jwt-allauth/old/b.pem", "/abs/c.pem"])
    }

    @Test func securityEventsGoToAFileOrStandardError() throws {
        #expect(try parse("log:\n  security_events: log/security.log\n").securityEventsPath == "/etc/jwt-allauth/log/security.log")
        #expect(try parse("log:\n  security_events: stderr\n").securityEventsPath == nil)
        #expect(try parse("log:\n  level: info\n").securityEventsPath == nil)
    }

    @Test func theShippedTemplateParsesAfterFilling() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let template = try String(contentsOf: root.appendingPathComponent("config/config.yaml.template"), encoding: .utf8)
        let text = try TemplateText.render(template, [
            "socket": "/run/x.sock", "socket_group": "root", "public_url": "https://example.com", "database": "db.sqlite3", "algorithm": "ES256",
            "signing_key_file": "private.pem", "secure": "true", "mail": "", "allowed_origins": "[\"https://app.example.com\"]",
            "refresh_name": "__Host-refresh_token", "email_verification": "mandatory",
            "security_events": "/var/log/jwt-allauth/security.log",
        ])
        let config = try parse(text)
        #expect(config.securityEventsPath == "/var/log/jwt-allauth/security.log")
        #expect(config.tokens.algorithm == .es256)
        #expect(config.server.publicURL == "https://example.com")
        #expect(config.cookies.allowedOrigins == ["https://app.example.com"])
    }

    @Test func theVerifyCacheIsRefusedWithTheSessionCheckUnlessTheLagIsAccepted() throws {
        let refused = #expect(throws: ConfigError.self) {
            try Config.parse(yaml: "verify:\n  cache: 5s\ntokens:\n  access_token_session_check: true\n", baseDirectory: base)
        }
        #expect(refused?.key == "verify.cache")
        #expect(refused?.problem.contains("verify.cache_accepts_revocation_lag") == true)
        #expect(refused?.problem.contains("tokens.access_token_session_check") == true)
        let accepted = try Config.parse(yaml: "verify:\n  cache: 5s\n  cache_accepts_revocation_lag: true\ntokens:\n  access_token_session_check: true\n",
                                        baseDirectory: base)
        #expect(accepted.verify.cache == 5)
        #expect(try Config.parse(yaml: "", environment: ["JWT_ALLAUTH_VERIFY_CACHE": "3s"], baseDirectory: base).verify.cache == 3)
        #expect(try Config.parse(yaml: "", baseDirectory: base).verify.cache == 0, "off by default")
        #expect(error("verify:\n  cache: 1.5s\n")?.key == "verify.cache", "nginx counts whole seconds")
    }

    @Test func asManyRunAtOnceAcrossThePoolAsCoresOnSQLiteAndEveryThreadOnPostgreSQL() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(try parse("").server.runningThreads == min(16, max(1, (cores + 1) / 2)), "2 workers: half the cores each")
        let server = try parse("server: {workers: 3, threads: 64}").server
        #expect(Config.defaultRunningThreads(server, .sqlite(path: "x"), cores: 8) == 3, "8 running threads over 3 workers, rounded up")
        #expect(Config.defaultRunningThreads(server, .sqlite(path: "x"), cores: 2) == 1)
        #expect(Config.defaultRunningThreads(server, .sqlite(path: "x"), cores: 1) == 1)
        #expect(try parse("server: {threads: 8}", ["JWT_ALLAUTH_SERVER_RUNNING_THREADS": "3"]).server.runningThreads == 3)
        #expect(try parse("server: {threads: 8}\ndatabase: {url: 'postgresql://auth@db/auth'}").server.runningThreads == 8)
        // More running than there are threads is a mistake, named by its key.
        #expect(error("server: {threads: 4, running_threads: 5}")?.key == "server.running_threads")
    }

    @Test func theHashingPriorityIsANiceValueNoHigherThanNormal() throws {
        #expect(try parse("").accounts.hashingNice == -8)
        #expect(try parse("", ["JWT_ALLAUTH_ACCOUNTS_HASHING_NICE": "-5"]).accounts.hashingNice == -5)
        #expect(error("accounts: {hashing_nice: 5}")?.key == "accounts.hashing_nice", "a lower priority than the sessions' is no share")
    }
}
