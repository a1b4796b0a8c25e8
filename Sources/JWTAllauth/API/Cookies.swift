import FastCGI
import Foundation
import HTTPTypes

/// Writes `Set-Cookie` headers from cookie settings: the one place cookie attributes are decided.
enum CookieWriter {
    static func header(_ cookie: Config.Cookie, value: String, now: Int64 = Int64(Date().timeIntervalSince1970)) -> String {
        var parts = ["\(cookie.name)=\(value)"]
        if let maxAge = cookie.maxAge {
            parts.append("expires=\(HTTPDate.rfc1123(now + Int64(maxAge)))")
        }
        if cookie.httpOnly { parts.append("HttpOnly") }
        if let maxAge = cookie.maxAge { parts.append("Max-Age=\(maxAge)") }
        parts.append("Path=\(cookie.path)")
        if let domain = cookie.domain { parts.append("Domain=\(domain)") }
        parts.append("SameSite=\(cookie.sameSite)")
        if cookie.secure { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }

    /// Expires the cookie in the browser (same name, path and domain, so it replaces the right one).
    static func clearingHeader(_ cookie: Config.Cookie) -> String {
        var parts = ["\(cookie.name)=\"\"", "expires=Thu, 01 Jan 1970 00:00:00 GMT", "Max-Age=0", "Path=\(cookie.path)"]
        if let domain = cookie.domain { parts.append("Domain=\(domain)") }
        parts.append("SameSite=\(cookie.sameSite)")
        if cookie.secure { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }
}

extension Response {
    mutating func setCookie(_ cookie: Config.Cookie, value: String) {
        headerFields.append(HTTPField(name: .setCookie, value: CookieWriter.header(cookie, value: value)))
    }

    mutating func clearCookie(_ cookie: Config.Cookie) {
        headerFields.append(HTTPField(name: .setCookie, value: CookieWriter.clearingHeader(cookie)))
    }
}
