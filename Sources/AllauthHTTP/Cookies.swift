import AllauthCore
import AllauthDomain
import FastCGI
import Foundation
import HTTPTypes

/// Writes `Set-Cookie` headers from cookie settings: the one place cookie attributes are decided.
enum CookieWriter {
    /// Written into one byte buffer: this runs at every rotation, and interpolating and joining
    /// the parts was 2.5% of one (bench/callgrind.sh).
    static func header(_ cookie: Config.Cookie, value: String, now: Int64 = Int64(Date().timeIntervalSince1970)) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + cookie.name.utf8.count + cookie.path.utf8.count + 128)
        func add(_ text: String) { out.append(contentsOf: text.utf8) }
        add(cookie.name)
        out.append(UInt8(ascii: "="))
        var value = value
        value.withUTF8 { out.append(contentsOf: $0) }
        if let maxAge = cookie.maxAge {
            add("; expires=")
            HTTPDate.appendRFC1123(now + Int64(maxAge), to: &out)
        }
        if cookie.httpOnly { add("; HttpOnly") }
        if let maxAge = cookie.maxAge {
            add("; Max-Age=")
            add(String(maxAge))
        }
        add("; Path=")
        add(cookie.path)
        if let domain = cookie.domain {
            add("; Domain=")
            add(domain)
        }
        add("; SameSite=")
        add(cookie.sameSite)
        if cookie.secure { add("; Secure") }
        return String(decoding: out, as: UTF8.self)
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
        headerFields.appendField(HTTPField(name: .setCookie, value: CookieWriter.header(cookie, value: value)))
    }

    mutating func clearCookie(_ cookie: Config.Cookie) {
        headerFields.appendField(HTTPField(name: .setCookie, value: CookieWriter.clearingHeader(cookie)))
    }
}
