"""Synthetic personal data in the formats real exports carry: names, phones, ID numbers, addresses.

Everything here is random and fictitious, drawn from a seeded generator, so the same seed gives the
same people. ID numbers follow GB 11643 (area code + birth date + sequence + mod-11 check digit).
"""

from __future__ import annotations

import numpy as np

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉鹏宇浩然欣怡梓涵子轩雨桐思远嘉琪俊峰晓燕海燕志强春梅丹丹婷婷佳慧博文一鸣诗琪晨曦天佑瑞雪昊天堃喆昇珺"
)
MOBILE_PREFIXES = np.array(
    ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "157",
     "158", "159", "166", "177", "178", "180", "181", "182", "183", "185", "186", "187", "188", "189",
     "191", "193", "198", "199"]
)
ROADS = list("中山北路 中山南路 中山东路 汉中路 北京西路 广州路 龙蟠中路 珠江路 太平南路 建康路 应天大街 江东中路 "
             "河西大街 集庆门大街 雨花西路 宁丹路 天元中路 双龙大道 胜太路 文靖路 大桥北路 浦珠路 江浦街道浦园路 "
             "仙林大道 学海路 龙潭街 雄州南路 延安路 珍珠南路 天生桥大道 通济街 淳溪路 宝塔路 新桥路".split())
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))


def names(rng: np.random.Generator, n: int) -> np.ndarray:
    surname = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    g2 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    two_chars = rng.random(n) < 0.35
    return np.where(two_chars, np.char.add(surname, g1), np.char.add(np.char.add(surname, g1), g2))


def mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), n)]
    rest = rng.integers(0, 10**8, n)
    return np.char.add(prefix, np.char.zfill(rest.astype(str), 8))


def landlines(rng: np.random.Generator, n: int) -> np.ndarray:
    """Nanjing landlines: 8 digits starting 5 or 8, written 025-8xxxxxxx, (025)8xxxxxxx or bare."""
    first = np.where(rng.random(n) < 0.8, "8", "5")
    number = np.char.add(first, np.char.zfill(rng.integers(0, 10**7, n).astype(str), 7))
    style = rng.random(n)
    return np.where(style < 0.55, np.char.add("025-", number),
                    np.where(style < 0.75, np.char.add("(025)", number), number))


def phones(rng: np.random.Generator, n: int, mobile_share: float = 0.75) -> np.ndarray:
    return np.where(rng.random(n) < mobile_share, mobiles(rng, n), landlines(rng, n))


def id_check_digit(first17: str) -> str:
    return str(ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS)) % 11])


def id_number_is_valid(value: str) -> bool:
    """GB 11643 check for 18-character numbers; 15-digit legacy numbers have no check digit."""
    v = value.strip().upper()
    if len(v) == 15:
        return v.isdigit()
    return len(v) == 18 and v[:17].isdigit() and id_check_digit(v[:17]) == v[17]


def id_numbers(rng: np.random.Generator, n: int, area_codes: list[str], year: int) -> np.ndarray:
    """18-digit IDs with valid check digits; the area code is any the person could have been issued."""
    area = np.array(area_codes)[rng.integers(0, len(area_codes), n)]
    birth_year = year - rng.integers(18, 80, n)
    birth = np.char.add(
        np.char.add(birth_year.astype(str), np.char.zfill(rng.integers(1, 13, n).astype(str), 2)),
        np.char.zfill(rng.integers(1, 29, n).astype(str), 2),
    )
    seq = np.char.zfill(rng.integers(0, 1000, n).astype(str), 3)
    first17 = np.char.add(np.char.add(area, birth), seq)
    digits = np.array([list(s) for s in first17], dtype=np.int64) if n else np.zeros((0, 17), dtype=np.int64)
    check = ID_CHECK[(digits * ID_WEIGHTS).sum(axis=1) % 11] if n else np.array([], dtype=str)
    out = np.char.add(first17, check)
    # Some people still carry a lowercase x; a few old systems hold 15-digit numbers.
    lower = (rng.random(n) < 0.3) & (check == "X")
    out = np.where(lower, np.char.add(first17, "x"), out)
    legacy = rng.random(n) < 0.01
    out15 = np.array([s[:6] + s[8:17] for s in out]) if n else out
    return np.where(legacy, out15, out)


def addresses(rng: np.random.Generator, n: int, district_names: np.ndarray, street_names: np.ndarray) -> np.ndarray:
    road = np.array(ROADS)[rng.integers(0, len(ROADS), n)]
    no = rng.integers(1, 400, n).astype(str)
    building = rng.integers(1, 30, n).astype(str)
    room = (rng.integers(1, 30, n) * 100 + rng.integers(1, 6, n)).astype(str)
    parts = [np.full(n, "江苏省南京市"), district_names, street_names, road, no, np.full(n, "号"), building,
             np.full(n, "栋"), room, np.full(n, "室")]
    out = parts[0]
    for p in parts[1:]:
        out = np.char.add(out, p)
    return out
