import { describe, expect, it } from "@effect/vitest"
import * as Arbitraries from "../examples/arbitraries.js"
import * as Laws from "../examples/laws.js"
// Registers the example's own suite: the CRM registry obeys both laws.
import "../examples/laws-suite.js"

describe("laws examples", () => {
  it("the wrong registry breaks commutation, with the message the docs show", async () => {
    const violation = await Laws.violation(Laws.commutation(Laws.wrong))
    expect(violation?.law).toBe("commutation")
    expect(violation?.message).toContain("the registry lets ClientValueUpgraded pass ClientValueUpgraded")
    await expect(violation?.message).toMatchFileSnapshot("../examples/output/commutation-violation.txt")
  })

  it("the fixed registry obeys both laws", async () => {
    expect(await Laws.violation(Laws.commutation(Laws.fixed))).toBeUndefined()
    expect(await Laws.violation(Laws.decisionStability(Laws.fixed))).toBeUndefined()
  })

  it("the too lenient registry commutes but breaks decision stability, with the message the docs show", async () => {
    expect(await Laws.violation(Laws.commutation(Laws.tooLenient))).toBeUndefined()
    const violation = await Laws.violation(Laws.decisionStability(Laws.tooLenient))
    expect(violation?.law).toBe("decision stability")
    expect(violation?.message).toContain("ClientIsArchived")
    await expect(violation?.message).toMatchFileSnapshot("../examples/output/decision-stability-violation.txt")
  })
})

describe("annotating Schemas for the laws", () => {
  it("annotated SKUs collide often and unannotated ones almost never", () => {
    expect(Arbitraries.sameSkuShare(Arbitraries.PriceSet, 1_000)).toBeGreaterThan(0.25)
    expect(Arbitraries.sameSkuShare(Arbitraries.PlainPriceSet, 1_000)).toBeLessThan(0.05)
  })

  it("with the annotations the law catches the wrong rule and the right registry obeys it", async () => {
    const violation = await Laws.violation(Arbitraries.commutation(Arbitraries.wrong))
    expect(violation?.law).toBe("commutation")
    expect(violation?.message).toContain("the registry lets PriceSet pass PriceSet")
    expect(await Laws.violation(Arbitraries.commutation(Arbitraries.right))).toBeUndefined()
  })
})
