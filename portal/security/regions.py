"""Province-level prefixes of China's administrative division code (GB/T 2260).

The first two digits of a resident identity number (GB 11643-1999) name the province-level
division where the number was first issued. A prefix outside this table cannot belong to a
real person, so rejecting it catches typing errors and invented numbers that happen to
carry a correct check character.
"""

from __future__ import annotations

#: Two-digit province-level codes accepted at the start of a resident identity number.
#:
#: 71 (台湾) is assigned by GB/T 2260 even though the mainland issues no identity cards there.
#: 81, 82 and 83 are used by the residence permits for Hong Kong, Macao and Taiwan residents
#: (港澳台居民居住证), whose numbers follow the same 18-character format and must be accepted
#: wherever a resident identity number is.
#:
#: 91 is deliberately absent: it only appears in foreigners' permanent residence identity
#: cards (外国人永久居留身份证), which are a different document and must not pass as a
#: resident identity number.
PROVINCE_PREFIXES: dict[str, str] = {
    "11": "北京",
    "12": "天津",
    "13": "河北",
    "14": "山西",
    "15": "内蒙古",
    "21": "辽宁",
    "22": "吉林",
    "23": "黑龙江",
    "31": "上海",
    "32": "江苏",
    "33": "浙江",
    "34": "安徽",
    "35": "福建",
    "36": "江西",
    "37": "山东",
    "41": "河南",
    "42": "湖北",
    "43": "湖南",
    "44": "广东",
    "45": "广西",
    "46": "海南",
    "50": "重庆",
    "51": "四川",
    "52": "贵州",
    "53": "云南",
    "54": "西藏",
    "61": "陕西",
    "62": "甘肃",
    "63": "青海",
    "64": "宁夏",
    "65": "新疆",
    "71": "台湾",
    "81": "香港",
    "82": "澳门",
    "83": "台湾",
}
