"""保護地域 matching: false-hit rate and per-call time, per region.

For each region (default 大阪府, 東京都, 鳥取県) it builds the corpus of ordinary texts from
outside the region that tests/protection/test_region_matching.py uses (addresses of the other
prefectures in kanji, kana, romaji and with postcodes, people's names, everyday phrases), and
measures on 10⁴ of them:

- the false-hit rate: the share of texts ``ProtectedRegion.places_named_in`` would hide;
- the time of one call, p50 and p99 in µs (each text timed alone, after one warm-up pass that
  also builds the region's matcher, whose build time is reported separately);
- the same for short everyday texts only (notice titles, a few words).

    python benchmarks/region_matcher.py                   # one JSON line on stdout
    python benchmarks/region_matcher.py --texts 2000 --regions 270008 130001
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

from fukaiji.protection.region import parse_region
from fukaiji.protection.region_matcher import matcher_for

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REGIONS = ("270008", "130001", "310000")


def _corpus_module():
    """The corpus generator lives beside the tests that bound the false-hit rate."""
    path = ROOT / "tests" / "protection" / "test_region_matching.py"
    spec = importlib.util.spec_from_file_location("region_matching_corpus", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _timed(region, texts: list[str]) -> list[float]:
    # The matcher itself: ProtectedRegion.places_named_in remembers texts it has read.
    find = matcher_for(frozenset(code[:2] for code in region.prefecture_codes)).find
    clock = time.perf_counter_ns
    times = []
    for text in texts:
        started = clock()
        find(text)
        times.append((clock() - started) / 1000)
    return times


def measure(code: str, count: int, corpus) -> dict:
    region = parse_region([code])
    started = time.perf_counter()
    matcher_for.cache_clear()
    matcher_for(frozenset(code[:2] for code in region.prefecture_codes)).find("")
    build_ms = (time.perf_counter() - started) * 1000
    texts = corpus.ordinary_corpus(code, count)
    rate, _ = corpus.false_hit_rate(region, texts)
    times = _timed(region, texts)
    short = [text for text in texts if len(text) <= 30]
    short_times = _timed(region, short)
    return {
        "region": region.governments[0].name,
        "texts": len(texts),
        "false_hit_rate": round(rate, 4),
        "build_ms": round(build_ms, 1),
        "mean_chars": round(statistics.fmean(len(text) for text in texts), 1),
        "us_p50": round(_percentile(times, 0.50), 2),
        "us_p99": round(_percentile(times, 0.99), 2),
        "short_texts": len(short),
        "short_us_p50": round(_percentile(short_times, 0.50), 2),
        "short_us_p99": round(_percentile(short_times, 0.99), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=10_000, help="texts per region")
    parser.add_argument("--regions", nargs="+", default=list(DEFAULT_REGIONS))
    arguments = parser.parse_args()
    corpus = _corpus_module()
    results = [measure(code, arguments.texts, corpus) for code in arguments.regions]
    for result in results:
        print(
            f"{result['region']}: false hits {result['false_hit_rate']:.2%}, "
            f"{result['us_p50']} µs p50, {result['us_p99']} µs p99",
            file=sys.stderr,
        )
    print(json.dumps({"region_matcher": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
