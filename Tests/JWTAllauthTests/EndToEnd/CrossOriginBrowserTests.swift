import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A frontend on another origin, as a browser runs it: a page served from its own port (a plain
/// static server) calls the API through nginx with `fetch(…, {credentials: "include"})`. Its origin
/// in `cookies.allowed_origins` signs up, logs in, refreshes with the cookie and logs out; a page
/// on an origin not in the list cannot read a single answer (the fetch fails in the browser).
@Suite(.serialized)
struct CrossOriginBrowserTests {
    /// The page's script, run in it: every step's status, or "blocked" when the browser refused.
    static let flow = """
        const [base, email] = arguments;
        const call = async (path, body, headers = {}) => {
            try {
                const answer = await fetch(base + path, {method: 'POST', credentials: 'include',
                    headers: Object.assign({'Content-Type': 'application/json'}, headers), body: JSON.stringify(body)});
                return {status: answer.status, body: await answer.json().catch(() => null)};
            } catch (error) {
                return {status: 'blocked', body: String(error)};
            }
        };
        return (async () => {
            const steps = {};
            const password = 'Val1dPasw0rd!';
            steps.signup = (await call('registration/', {email, password1: password, password2: password})).status;
            const login = await call('login/', {email, password});
            steps.login = login.status;
            const refreshed = await call('refresh/', {});
            steps.refresh = refreshed.status;
            const access = refreshed.body && refreshed.body.access;
            steps.logout = (await call('logout/', {}, access ? {Authorization: 'Bearer ' + access} : {})).status;
            steps.refreshAfterLogout = (await call('refresh/', {})).status;
            return JSON.stringify(steps);
        })();
        """

    /// A static page on `127.0.0.1:port` (Python's http.server), stopped with the returned process.
    func servePage(in directory: URL, port: Int) throws -> Process {
        try "<!doctype html><html lang=en><title>Frontend</title><h1>A frontend on its own origin</h1>"
            .write(to: directory.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        let script = directory.appendingPathComponent("serve.py")
        try """
            import functools, http.server, sys
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
            http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
            """.write(to: script, atomically: true, encoding: .utf8)
        return try PythonHelper.start(script, [String(port), directory.path], logPath: directory.appendingPathComponent("serve.log").path) {
            (try? HTTPClient(port: port).get("/"))?.status == 200
        }
    }

    func run(fromAllowed allowed: Bool) throws -> [String: Any] {
        let pagePort = TestInstance.freePort()
        let listed = allowed ? pagePort : TestInstance.freePort()
        let instance = try TestInstance(environment: [
            "JWT_ALLAUTH_COOKIES_ALLOWED_ORIGINS": "[http://127.0.0.1:\(listed)]",
            "JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "none",
        ])
        let server = try servePage(in: instance.directory, port: pagePort)
        defer { PythonHelper.stop(server) }
        let browser = try Browser()
        defer { browser.quit() }
        try browser.open("http://127.0.0.1:\(pagePort)/")
        #expect(browser.text("h1") == "A frontend on its own origin")
        let base = "http://127.0.0.1:\(instance.port)\(instance.mount)/"
        let result = try #require(try browser.execute(Self.flow, [base, "frontend@example.com"]) as? String)
        return try #require(try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Any])
    }

    @Test func aPageOnAnAllowedOriginSignsUpLogsInRefreshesWithTheCookieAndLogsOut() throws {
        let steps = try run(fromAllowed: true)
        #expect(steps["signup"] as? Int == 201, "\(steps)")
        #expect(steps["login"] as? Int == 200, "\(steps)")
        #expect(steps["refresh"] as? Int == 200, "the refresh cookie travelled with the fetch: \(steps)")
        #expect(steps["logout"] as? Int == 200, "\(steps)")
        #expect(steps["refreshAfterLogout"] as? Int == 400 || steps["refreshAfterLogout"] as? Int == 401,
                "the cookie is gone or its session closed: \(steps)")
    }

    @Test func aPageOnAnOriginNotInTheListReadsNothing() throws {
        let steps = try run(fromAllowed: false)
        for step in ["signup", "login", "refresh", "logout", "refreshAfterLogout"] {
            #expect(steps[step] as? String == "blocked", "\(step): \(steps)")
        }
    }
}
