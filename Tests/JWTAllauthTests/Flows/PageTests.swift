import Foundation
import Testing
@testable import AllauthCore

/// The built-in HTML pages in process: every route renders, with the headers that keep a
/// password form safe; the form pages pick their variant by the capability cookie; overrides and
/// redirects change what is served; a broken override stops `check` and `serve`.
struct PageTests {
    /// Every page and the status it answers with (a bad confirmation link: the failure page, 400;
    /// a bad reset link: the reset page's invalid-link variant, 200).
    static let pages = [
        ("registration/verified/", 200), ("registration/account_email_verification_sent/", 200), ("password/reset/default/", 200),
        ("password/reset/complete/", 200), ("registration/set-password/default/", 200),
        ("registration/verification/not-a-key/", 400), ("password/reset/confirm/MQ/not-a-token/", 200),
    ]

    /// The nonce the CSP allows, which must be the one on the page's inline `<style>`.
    static func nonce(_ csp: String) -> String? {
        guard let range = csp.range(of: "style-src 'nonce-") else { return nil }
        return csp[range.upperBound...].split(separator: "'").first.map(String.init)
    }

    @Test func everyPageAnswersHTMLWithStrictSecurityHeaders() throws {
        let instance = try InProcessInstance()
        var nonces: Set<String> = []
        for (page, status) in Self.pages {
            let response = try instance.client.get("\(instance.mount)/\(page)")
            #expect(response.status == status, "\(page)")
            #expect(response.header("Content-Type") == "text/html; charset=utf-8", "\(page)")
            let csp = try #require(response.header("Content-Security-Policy"), "\(page)")
            #expect(csp.hasPrefix("default-src 'none';") && csp.contains("frame-ancestors 'none'") && csp.contains("base-uri 'none'"))
            let nonce = try #require(Self.nonce(csp))
            #expect(response.text.contains("<style nonce=\"\(nonce)\">"), "\(page)")
            #expect(!response.text.contains("<script src") && !response.text.contains("<link rel=\"stylesheet\""), "\(page)")
            nonces.insert(nonce)
            #expect(response.header("X-Frame-Options") == "DENY", "\(page)")
            #expect(response.header("Referrer-Policy") == "no-referrer", "\(page)")
            #expect(response.header("Cache-Control") == "no-store", "\(page)")
            #expect(response.header("X-Content-Type-Options") == "nosniff", "\(page)")
            #expect(response.text.hasPrefix("<!doctype html>") && response.text.contains("<h1>"), "\(page)")
            #expect(response.text.contains("127.0.0.1"), "the site name defaults to the public URL's host: \(page)")
        }
        #expect(nonces.count == Self.pages.count, "a fresh nonce per response")
        let post = try instance.client.post("\(instance.mount)/registration/verified/", json: "{}")
        #expect(post.status == 405 && post.json?["detail"]?.string != nil)
        let head = try instance.client.request("HEAD", "\(instance.mount)/registration/verified/")
        #expect(head.status == 200 && head.body.isEmpty)
    }

    @Test func formPagesShowTheFormOnlyToABrowserHoldingTheCapabilityCookie() throws {
        let instance = try InProcessInstance()
        let forms = [("password/reset/default/", "password_reset_access_token", "/password/reset/set-new/", "invalid or was already used"),
                     ("registration/set-password/default/", "set_password_access_token", "/registration/set-password/", "whoever invited you")]
        for (page, cookie, action, invalid) in forms {
            let bare = try instance.client.get("\(instance.mount)/\(page)")
            #expect(bare.status == 200 && bare.text.contains(invalid) && !bare.text.contains("<form"), "\(page)")
            let other = try instance.client.get("\(instance.mount)/\(page)", headers: [("Cookie", "csrftoken=abc; refresh_token=x")])
            #expect(!other.text.contains("<form"), "another cookie is not the capability: \(page)")
            let holder = try instance.client.get("\(instance.mount)/\(page)", headers: [("Cookie", "\(cookie)=opaque; csrftoken=abc")])
            #expect(holder.status == 200, "\(page)")
            #expect(holder.text.contains("action=\"\(instance.mount)\(action)\""), "\(page)")
            #expect(holder.text.contains("data-csrf-cookie=\"csrftoken\""), "\(page)")
            #expect(holder.text.components(separatedBy: "autocomplete=\"new-password\"").count == 3, "\(page)")
            let nonce = try #require(Self.nonce(holder.header("Content-Security-Policy") ?? ""))
            #expect(holder.text.contains("<script nonce=\"\(nonce)\">"), "the form's script carries the nonce: \(page)")
        }
    }

    @Test func anOverrideReplacesAShippedPageAndARedirectRemovesTheBuiltInOne() throws {
        let overrides = FileManager.default.temporaryDirectory.appendingPathComponent("page-overrides-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: overrides, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: overrides) }
        try "<!doctype html><title>Ours</title><p>Welcome aboard, {{site_name}} & co.</p>\n"
            .write(to: overrides.appendingPathComponent("verified.mustache"), atomically: true, encoding: .utf8)
        let instance = try InProcessInstance(environment: [
            "JWT_ALLAUTH_TEMPLATES_DIRECTORY": overrides.path, "JWT_ALLAUTH_TEMPLATES_SITE_NAME": "Acme <Accounts>",
            "JWT_ALLAUTH_REDIRECTS_PASSWORD_RESET": "https://app.example.com/reset",
        ])
        let verified = try instance.client.get("\(instance.mount)/registration/verified/")
        #expect(verified.status == 200)
        #expect(verified.text == "<!doctype html><title>Ours</title><p>Welcome aboard, Acme &lt;Accounts&gt; & co.</p>\n")
        // Not overridden: the shipped page, with the configured site name, escaped.
        let sent = try instance.client.get("\(instance.mount)/registration/account_email_verification_sent/")
        #expect(sent.text.contains("Acme &lt;Accounts&gt;") && sent.text.contains("Check your inbox"))
        // The deployment has its own reset pages: ours are not routed.
        #expect(try instance.client.get("\(instance.mount)/password/reset/default/").status == 404)
        #expect(try instance.client.get("\(instance.mount)/password/reset/complete/").status == 404)
        #expect(try instance.client.get("\(instance.mount)/registration/set-password/default/").status == 200)
    }

    @Test func checkAndServeRefuseABrokenOverrideNamingTheFile() throws {
        let instance = try InProcessInstance()
        let overrides = instance.directory.appendingPathComponent("my-templates/mail")
        try FileManager.default.createDirectory(at: overrides, withIntermediateDirectories: true)
        let broken = overrides.appendingPathComponent("password_reset.html.mustache")
        try "<p>Hello {{first_name}</p>\n".write(to: broken, atomically: true, encoding: .utf8)
        let environment = ["JWT_ALLAUTH_TEMPLATES_DIRECTORY": overrides.deletingLastPathComponent().path]

        let check = try instance.command(["check"], extraEnvironment: environment)
        #expect(check.status != 0)
        #expect(check.output.contains(broken.path) && check.output.contains("line 1"), "\(check.output)")

        // serve stops before it spawns a worker (on a socket of its own, so the instance is untouched).
        let serve = try Self.runBounded(instance, ["serve"], environment.merging(
            ["JWT_ALLAUTH_SERVER_SOCKET": instance.directory.appendingPathComponent("run/other.sock").path]) { $1 })
        #expect(serve.status != 0 && serve.output.contains(broken.path), "\(serve.output)")

        // A missing override directory is refused too, and a good one passes.
        let missing = try instance.command(["check"], extraEnvironment: ["JWT_ALLAUTH_TEMPLATES_DIRECTORY": "/nonexistent/templates"])
        #expect(missing.status != 0 && missing.output.contains("/nonexistent/templates"))
        try "<p>Hello {{first_name}}</p><p>{{link}}</p>\n".write(to: broken, atomically: true, encoding: .utf8)
        let fixed = try instance.command(["check"], extraEnvironment: environment)
        #expect(fixed.status == 0 && fixed.output.contains("templates ok"), "\(fixed.output)")
        #expect(try instance.client.get("\(instance.mount)/health/").status == 200)
    }

    /// Runs a command that should exit by itself, killing it after 30 s if it does not.
    static func runBounded(_ instance: InProcessInstance, _ arguments: [String], _ environment: [String: String]) throws -> (status: Int32, output: String) {
        let log = instance.directory.appendingPathComponent("bounded-\(UUID().uuidString.prefix(6)).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = TestInstance.binary
        process.arguments = arguments + ["--config", instance.configPath]
        process.environment = instance.environment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return (-1, "still running after 30 s")
        }
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }
}
