/// Device fields parsed from a `User-Agent` header, as the reference's ua-parser fills them.
public struct UserAgentInfo: Sendable, Equatable {
    public var browser: String
    public var browserVersion: String
    public var os: String
    public var osVersion: String
    public var device: String
    public var deviceBrand: String?
    public var deviceModel: String?
    public var isMobile: Bool
    public var isTablet: Bool
    public var isPC: Bool
    public var isBot: Bool

    /// A small parser for the common browsers and systems. Unknown agents give "Other".
    public static func parse(_ header: String?) -> UserAgentInfo {
        let ua = header ?? ""
        var info = UserAgentInfo(browser: "Other", browserVersion: "", os: "Other", osVersion: "", device: "Other",
                                 deviceBrand: nil, deviceModel: nil, isMobile: false, isTablet: false, isPC: false, isBot: false)
        let lower = ua.lowercased()
        if ["bot", "crawler", "spider", "slurp", "curl/", "wget/"].contains(where: lower.contains) {
            info.isBot = true
        }

        // Operating system and device.
        if let version = capture(ua, after: "iPhone OS ", until: " ") {
            info.os = "iOS"; info.osVersion = version.replacingUnderscores()
            info.device = "iPhone"; info.deviceBrand = "Apple"; info.deviceModel = "iPhone"; info.isMobile = true
        } else if ua.contains("iPad") {
            info.os = "iOS"; info.osVersion = (capture(ua, after: "CPU OS ", until: " ") ?? "").replacingUnderscores()
            info.device = "iPad"; info.deviceBrand = "Apple"; info.deviceModel = "iPad"; info.isTablet = true
        } else if let version = capture(ua, after: "Android ", until: ";") {
            info.os = "Android"; info.osVersion = version
            info.device = "Generic Smartphone"
            if ua.contains("Mobile") { info.isMobile = true } else { info.isTablet = true; info.device = "Generic Tablet" }
        } else if let version = capture(ua, after: "Mac OS X ", until: ")") {
            info.os = "Mac OS X"; info.osVersion = version.replacingUnderscores()
            info.device = "Mac"; info.deviceBrand = "Apple"; info.deviceModel = "Mac"; info.isPC = true
        } else if let version = capture(ua, after: "Windows NT ", until: ";") ?? capture(ua, after: "Windows NT ", until: ")") {
            info.os = "Windows"
            let names = ["10.0": "10", "6.3": "8.1", "6.2": "8", "6.1": "7", "6.0": "Vista", "5.1": "XP"]
            info.osVersion = names[version] ?? version
            info.isPC = true
        } else if ua.contains("Linux") || ua.contains("X11") {
            info.os = "Linux"; info.isPC = true
        }

        // Browser, most specific token first (Edge and Opera also say Chrome; Chrome also says Safari).
        if let version = capture(ua, after: "Edg/", until: " ") {
            info.browser = "Edge"; info.browserVersion = threeParts(version)
        } else if let version = capture(ua, after: "OPR/", until: " ") {
            info.browser = "Opera"; info.browserVersion = threeParts(version)
        } else if let version = capture(ua, after: "Firefox/", until: " ") {
            info.browser = info.isMobile ? "Firefox Mobile" : "Firefox"; info.browserVersion = threeParts(version)
        } else if let version = capture(ua, after: "CriOS/", until: " ") {
            info.browser = "Chrome Mobile iOS"; info.browserVersion = threeParts(version)
        } else if let version = capture(ua, after: "Chrome/", until: " ") {
            info.browser = info.isMobile ? "Chrome Mobile" : "Chrome"; info.browserVersion = threeParts(version)
        } else if ua.contains("Safari/"), let version = capture(ua, after: "Version/", until: " ") {
            info.browser = info.isMobile || info.isTablet ? "Mobile Safari" : "Safari"; info.browserVersion = threeParts(version)
        }
        return info
    }

    private static func capture(_ text: String, after marker: String, until terminator: Character) -> String? {
        guard let start = text.range(of: marker)?.upperBound else { return nil }
        let rest = text[start...]
        let value = rest.prefix { $0 != terminator && $0 != ")" && $0 != ";" }
        return value.isEmpty ? nil : String(value)
    }

    /// ua-parser reports major.minor.patch.
    private static func threeParts(_ version: String) -> String {
        version.split(separator: ".").prefix(3).joined(separator: ".")
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(map { $0 == "_" ? "." : $0 }) }
}
