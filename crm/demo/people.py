"""Names, places and ages for demo customers, drawn with numpy (no Django)."""

from __future__ import annotations

import numpy as np

SURNAMES_ZH = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
    "郭", "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
)
GIVEN_ZH = {
    "female": (
        "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "婷", "雪", "慧", "颖", "琳", "欣怡",
        "梓涵", "诗琪", "雨桐", "佳怡", "晓燕", "秀英", "玉兰", "子涵", "思琪", "梦瑶",
    ),
    "male": (
        "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "浩", "宇", "鹏", "辉",
        "俊杰", "子轩", "浩然", "宇轩", "志强", "建华", "文博", "嘉豪", "天佑", "博文",
    ),
    "": ("晨", "宁", "安", "琪", "子墨", "一诺", "思远", "雨辰", "可欣", "若曦"),
}
FIRST_EN = {
    "female": (
        "Emma", "Olivia", "Sophia", "Charlotte", "Amelia", "Emily", "Grace", "Chloe",
        "Hannah", "Lucy", "Anna", "Laura", "Mia", "Zoe",
    ),
    "male": (
        "James", "Oliver", "William", "Henry", "Lucas", "Thomas", "Daniel", "Jack",
        "Michael", "David", "Samuel", "Benjamin", "Leo", "Ethan",
    ),
    "": ("Alex", "Sam", "Jordan", "Taylor", "Robin", "Casey", "Jamie", "Morgan"),
}
SURNAMES_EN = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Miller", "Davies", "Clarke",
    "Walker", "Wright", "Martin", "Müller", "Schmidt", "Nguyen", "Tan", "Lee", "Wong",
)
#: Cities in China (in Chinese, as customers type them) with rough weights.
CITIES_CN = (
    ("上海", 16), ("北京", 14), ("深圳", 11), ("广州", 9), ("杭州", 9), ("成都", 8),
    ("南京", 6), ("武汉", 6), ("西安", 5), ("重庆", 5), ("苏州", 5), ("天津", 3), ("长沙", 3),
)
#: Cities abroad, with ISO 3166-1 alpha-2 country codes.
CITIES_ABROAD = (
    ("Singapore", "SG"), ("Sydney", "AU"), ("Vancouver", "CA"), ("London", "GB"),
    ("New York", "US"), ("San Francisco", "US"), ("Tokyo", "JP"), ("Berlin", "DE"),
    ("Kuala Lumpur", "MY"),
)
ABROAD_P = 0.06
GENDERS = ("female", "male", "other", "")
GENDER_P = (0.52, 0.44, 0.01, 0.03)
CONSENT_GRANTED_P = 0.88
CONSENT_SOURCES = ("signup form", "checkout", "wechat mini program")


def _pick(rng: np.random.Generator, options: tuple[str, ...], size: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.integers(0, len(options), size)]


def draw_people(rng: np.random.Generator, age_mean: np.ndarray) -> dict[str, np.ndarray]:
    """Gender, name, city, country and age (whole years, 18-75) per customer."""
    n = len(age_mean)
    gender = np.asarray(GENDERS, dtype=object)[rng.choice(len(GENDERS), n, p=GENDER_P)]
    abroad = rng.random(n) < ABROAD_P
    weights = np.array([w for _, w in CITIES_CN], dtype=float)
    city = np.asarray([c for c, _ in CITIES_CN], dtype=object)[
        rng.choice(len(CITIES_CN), n, p=weights / weights.sum())
    ]
    country = np.full(n, "CN", dtype=object)
    where = rng.integers(0, len(CITIES_ABROAD), n)
    city[abroad] = np.asarray([c for c, _ in CITIES_ABROAD], dtype=object)[where[abroad]]
    country[abroad] = np.asarray([k for _, k in CITIES_ABROAD], dtype=object)[where[abroad]]
    # Most customers in China have Chinese names; abroad it is about half and half.
    chinese_name = rng.random(n) < np.where(abroad, 0.5, 0.95)
    surname_zh = _pick(rng, SURNAMES_ZH, n)
    surname_en = _pick(rng, SURNAMES_EN, n)
    given_zh = np.empty(n, dtype=object)
    first_en = np.empty(n, dtype=object)
    for key in GIVEN_ZH:
        mask = (gender == key) if key else np.isin(gender, ("", "other"))
        given_zh[mask] = _pick(rng, GIVEN_ZH[key], int(mask.sum()))
        first_en[mask] = _pick(rng, FIRST_EN[key], int(mask.sum()))
    name = np.where(chinese_name, surname_zh + given_zh, first_en + " " + surname_en)
    age = np.clip(np.rint(rng.normal(age_mean, 11.0)), 18, 75).astype(int)
    return {"gender": gender, "name": name, "city": city, "country": country, "age": age}
