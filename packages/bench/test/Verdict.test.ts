import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Verdict from "../src/Verdict.js"

// Synthetic figures, the way a run would produce them: per-round ratios of Concord to a contender.
describe("Verdict", () => {
  describe("a ratio target (at least 2x)", () => {
    const target = Verdict.atLeast(2)

    it("a clear pass is met", () => {
      const estimate = Verdict.ofRatios([2.5, 2.6, 2.4, 2.55, 2.45])
      expect(estimate.low).toBeGreaterThan(2)
      expect(Verdict.judge(estimate, target)).toBe("met")
    })

    it("a clear fail is missed", () => {
      const estimate = Verdict.ofRatios([1.1, 1.15, 1.05, 1.12, 1.08])
      expect(estimate.high).toBeLessThan(2)
      expect(Verdict.judge(estimate, target)).toBe("missed")
    })

    it("a noisy figure near the threshold is unclear, and more trials are suggested", () => {
      // Its median (2.6) passes, yet one round in five reads 1.6: a single figure from such trials flips from run to
      // run.
      const estimate = Verdict.ofRatios([1.6, 3.4, 2.6, 2.0, 3.3])
      expect(estimate.center).toBeGreaterThan(2)
      expect(Verdict.judge(estimate, target)).toBe("unclear")
      const needed = Verdict.trialsToDecide(estimate, target)!
      expect(needed).toBeGreaterThan(estimate.trials)
      expect(needed).toBeLessThan(30)
      // With that many trials spread alike, the verdict is decided.
      const more = Array.from({ length: needed }, (_, i) => [1.6, 3.4, 2.6, 2.0, 3.3][i % 5]!)
      expect(Verdict.judge(Verdict.ofRatios(more), target)).toBe("met")
    })

    it("one trial decides nothing", () => {
      expect(Verdict.judge(Verdict.ofRatios([5]), target)).toBe("unclear")
      expect(Verdict.trialsToDecide(Verdict.ofRatios([5]), target)).toBe(5)
    })

    it("a figure right on the threshold cannot be decided by more trials", () => {
      const estimate = Verdict.ofRatios([1.5, 2.5, 2, 1.6, 2.5])
      expect(estimate.center).toBeCloseTo(1.98, 1)
      expect(Verdict.judge(estimate, target)).toBe("unclear")
      expect(Verdict.trialsToDecide(estimate, Verdict.atLeast(estimate.center))).toBeUndefined()
    })
  })

  describe("a band (growth within ±20%)", () => {
    const target = Verdict.within(0.8, 1.2)

    it("flat is met", () => {
      expect(Verdict.judge(Verdict.ofRatios([0.97, 1.03, 1.01, 0.99, 1, 1.02, 0.98]), target)).toBe("met")
    })

    it("clearly slower is missed", () => {
      expect(Verdict.judge(Verdict.ofRatios([1.5, 1.6, 1.55, 1.45, 1.52]), target)).toBe("missed")
    })

    it("70% one round and 137% the next is unclear", () => {
      expect(Verdict.judge(Verdict.ofRatios([0.7, 1.37, 0.9, 1.25, 0.8]), target)).toBe("unclear")
    })
  })

  describe("a plain figure (under 16 bytes per check)", () => {
    const target = Verdict.below(16)

    it("no allocation is met", () => {
      expect(Verdict.judge(Verdict.ofValues([0, 0, 0, 0.1, 0]), target)).toBe("met")
      // No spread at all: the interval is the point.
      expect(Verdict.judge(Verdict.ofValues([0, 0, 0]), target)).toBe("met")
    })

    it("an object per check is missed", () => {
      expect(Verdict.judge(Verdict.ofValues([32, 31.5, 32.2, 32, 31.8]), target)).toBe("missed")
    })

    it("trials that disagree are unclear", () => {
      expect(Verdict.judge(Verdict.ofValues([0.3, 32, 0.5, 31, 0.2]), target)).toBe("unclear")
    })
  })

  it("a target is missed when any cell is, met when every cell is", () => {
    expect(Verdict.combine(["met", "met"])).toBe("met")
    expect(Verdict.combine(["met", "unclear"])).toBe("unclear")
    expect(Verdict.combine(["unclear", "missed", "met"])).toBe("missed")
  })

  it("Student's t: the table and the expansion beyond it", () => {
    expect(Verdict.tQuantile(4)).toBe(2.776)
    expect(Verdict.tQuantile(30)).toBe(2.042)
    expect(Verdict.tQuantile(31)).toBeCloseTo(2.04, 2)
    expect(Verdict.tQuantile(120)).toBeCloseTo(1.98, 2)
    expect(Verdict.tQuantile(0)).toBe(Number.POSITIVE_INFINITY)
  })

  it("a ratio and its inverse get the same verdict", () => {
    const ratio = fc.double({ min: 0.1, max: 10, noNaN: true })
    fc.assert(fc.property(fc.array(ratio, { minLength: 2, maxLength: 12 }), ratio, (ratios, threshold) => {
      const forward = Verdict.judge(Verdict.ofRatios(ratios), Verdict.atLeast(threshold))
      const inverse = Verdict.judge(Verdict.ofRatios(ratios.map((r) => 1 / r)), Verdict.atMost(1 / threshold))
      // Floating point may put a bound a hair either side of the threshold; away from it the two agree.
      const estimate = Verdict.ofRatios(ratios)
      const near = [estimate.low, estimate.high].some((b) => Math.abs(Math.log(b / threshold)) < 1e-9)
      return near || forward === inverse
    }))
  })

  it("the interval holds the center, and more agreeing trials narrow it", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.5, max: 2, noNaN: true }), { minLength: 2, maxLength: 10 }), (ratios) => {
        const once = Verdict.ofRatios(ratios)
        const twice = Verdict.ofRatios([...ratios, ...ratios])
        return once.low <= once.center + 1e-12 && once.center <= once.high + 1e-12 &&
          twice.high - twice.low <= once.high - once.low + 1e-12
      })
    )
  })

  it("refuses ratios that are not positive and finite", () => {
    expect(() => Verdict.ofRatios([1, 0])).toThrow()
    expect(() => Verdict.ofRatios([1, Number.POSITIVE_INFINITY])).toThrow()
    expect(() => Verdict.ofValues([])).toThrow()
  })
})
