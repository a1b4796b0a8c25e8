import FastCGI
import Testing
@testable import AllauthHTTP

struct RouterTests {
    var router: Router {
        var router = Router(mount: "/jwt-allauth")
        router.add("login/", .post) { _, _ in Response(status: .ok) }
        router.add("user/", .get) { _, _ in Response(status: .ok) }
        router.add("user/", .patch) { _, _ in Response(status: .ok) }
        router.add("sessions/<id>/", .delete) { _, _ in Response(status: .ok) }
        return router
    }

    @Test func matchesTrailingSlashPathsOnly() {
        guard case .handler = router.match(method: .post, path: "/jwt-allauth/login/") else { Issue.record("no match"); return }
        guard case .notFound = router.match(method: .post, path: "/jwt-allauth/login") else { Issue.record("matched without slash"); return }
        guard case .notFound = router.match(method: .post, path: "/other/login/") else { Issue.record("matched outside mount"); return }
        guard case .notFound = router.match(method: .post, path: "/jwt-allauth//login/") else { Issue.record("matched empty segment"); return }
    }

    @Test func capturesParameters() {
        guard case .handler(_, let parameters) = router.match(method: .delete, path: "/jwt-allauth/sessions/abc123/") else {
            Issue.record("no match")
            return
        }
        #expect(parameters == ["id": "abc123"])
    }

    @Test func wrongMethodListsTheAllowedOnes() {
        guard case .methodNotAllowed(let allowed) = router.match(method: .put, path: "/jwt-allauth/user/") else {
            Issue.record("expected 405")
            return
        }
        #expect(allowed == [.get, .patch, .head])
    }

    @Test func headIsAnsweredByGet() {
        guard case .handler = router.match(method: .head, path: "/jwt-allauth/user/") else { Issue.record("no match"); return }
    }
}
