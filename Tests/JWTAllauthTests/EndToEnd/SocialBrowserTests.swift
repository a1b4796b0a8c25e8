import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthDomain

/// The demo page in headless Chromium: it signs in with the test provider through the code flow
/// with PKCE (the browser really goes to the provider and back) and shows the logged-in user.
@Suite(.serialized)
struct SocialBrowserTests {
    @Test func demoPageSignsInThroughTheCodeFlowWithPKCEAndShowsTheUser() throws {
        let world = try SocialWorld()
        try world.provider.setUser(SocialWorld.user("u-browser", "browser.user@example.com"))
        let page = "http://127.0.0.1:\(world.instance.port)\(world.instance.mount)/social/demo/"
        let browser = try Browser(width: 1000, height: 760)
        defer { browser.quit() }
        try browser.open(page)
        #expect(browser.text(".social-provider") == "Sign in with Example")
        try browser.screenshot("social-demo-start")

        try browser.click(".social-provider")
        try browser.wait(for: "the signed-in user", timeout: 20) { browser.isDisplayed("#social-user") }
        #expect(browser.text("#social-email") == "browser.user@example.com")
        #expect(browser.text("#social-status") == "You are signed in.")
        // The code went through the token endpoint once, and the refresh cookie was set.
        #expect(try world.provider.fetches().token == 1)
        #expect(try browser.cookies()["refresh_token"] != nil)
        let user = try #require(try UserStore(world.instance.database()).find(email: "browser.user@example.com"))
        #expect(!user.hasUsablePassword)
        try browser.screenshot("social-demo-signed-in")
    }

    @Test func demoPageShowsAProviderRefusalInItsStatusRegion() throws {
        let world = try SocialWorld()
        let page = "http://127.0.0.1:\(world.instance.port)\(world.instance.mount)/social/demo/"
        let browser = try Browser(mobileWidth: 320)
        defer { browser.quit() }
        // A code the provider never issued, as if a stale tab came back: the page explains it.
        try browser.open(page)
        try browser.execute("sessionStorage.setItem('social_demo', JSON.stringify({verifier: 'x'.repeat(43), state: 's', provider: 'example'}))")
        try browser.open(page + "?code=forged&state=s")
        try browser.wait(for: "the error", timeout: 20) { browser.text("#social-status").contains("did not confirm") }
        #expect(!browser.isDisplayed("#social-user"))
        try browser.screenshot("social-demo-refused-phone")
    }
}
