"""Reference lookups: every old name, code, typo and 江北新区 street in the domain brief resolves."""

import shutil

import pytest

from nsi.reference import Reference, ReferenceDataError, load_reference


@pytest.fixture(scope="module")
def ref():
    return load_reference()


def test_eleven_districts_with_populations_and_streets(ref):
    assert ref.district_codes == ["320102", "320104", "320105", "320106", "320111", "320113",
                                  "320114", "320115", "320116", "320117", "320118"]
    assert ref.population("320115", 2024) == (1926117, 2020)
    assert ref.city_population(2020) == 9315485  # the brief notes the 800 over the census total
    counts = {code: len(ref.streets_of(code)) for code in ref.district_codes}
    # Streets + towns from the brief, plus 浦口's forest farm and farm.
    assert counts == {"320102": 7, "320104": 12, "320105": 6, "320106": 13, "320111": 11, "320113": 9,
                      "320114": 7, "320115": 10, "320116": 12, "320117": 8, "320118": 8}


@pytest.mark.parametrize("text, code, how", [
    ("玄武区", "320102", "name"), ("秦淮", "320104", "short"),
    ("白下区", "320104", "old_name"), ("白下", "320104", "old_name"), ("320103", "320104", "old_code"),
    ("下关区", "320106", "old_name"), ("下关", "320106", "old_name"), ("320107", "320106", "old_code"),
    ("溧水县", "320117", "old_name"), ("320124", "320117", "old_code"),
    ("高淳县", "320118", "old_name"), ("320125", "320118", "old_code"),
    ("雨花区", "320114", "typo"), ("建业区", "320105", "typo"),
    ("江宁县", "320115", "old_name"), ("320121", "320115", "old_code"),
    ("江浦县", "320111", "old_name"), ("320122", "320111", "old_code"),
    ("六合县", "320116", "old_name"), ("大厂区", "320116", "old_name"),
    ("320123", "320116", "old_code"), ("320112", "320116", "old_code"),
    ("３２０１０３", "320104", "old_code"), (" 白下 区 ", "320104", "old_name"),
])
def test_district_names_codes_and_typos(ref, text, code, how):
    resolution = ref.resolve(text)
    assert (resolution.district_code, resolution.how) == (code, how)


@pytest.mark.parametrize("street, code", [
    ("泰山街道", "320111"), ("顶山", "320111"), ("沿江街道", "320111"), ("盘城街道", "320111"),
    ("大厂街道", "320116"), ("葛塘", "320116"), ("长芦街道", "320116"),
])
@pytest.mark.parametrize("label", ["江北新区", "320192", "320126"])
def test_jiangbei_rows_go_to_pukou_or_luhe_by_street(ref, label, street, code):
    resolution = ref.resolve(label, street)
    assert resolution.district_code == code
    assert resolution.how == "jiangbei_street"
    assert ref.streets[resolution.street_code].jiangbei


@pytest.mark.parametrize("label", ["江北新区", "320192", "320126"])
def test_jiangbei_without_street_is_unresolvable(ref, label):
    assert ref.resolve(label, "").district_code is None
    assert ref.resolve(label, None).how == "jiangbei_without_street"


def test_unknown_and_blank(ref):
    assert ref.resolve("外地").district_code is None
    assert ref.resolve("", "").district_code is None
    assert ref.resolve("", "新街口街道").district_code == "320102"  # a street alone is enough


def test_street_lookup_and_pseudo_streets(ref):
    assert ref.resolve("鼓楼区", "下关街道").street_code == "320106008000"
    assert ref.resolve_street("板桥新城").street_code == "320114005000"
    assert ref.resolve_street("竹镇").street_code == "320116110000"
    assert ref.resolve("", "雨花经济开发区").district_code == "320114"


def _copy(tmp_path):
    target = tmp_path / "reference"
    shutil.copytree(load_reference().directory, target)
    return target


def test_bad_population_names_file_and_row(tmp_path):
    target = _copy(tmp_path)
    path = target / "populations.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("534257", "many")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"populations.csv, row 4"):
        Reference(target)


def test_alias_to_unknown_district_is_an_error(tmp_path):
    target = _copy(tmp_path)
    with open(target / "district_aliases.csv", "a", encoding="utf-8") as handle:
        handle.write("江心区,320199,typo,\n")
    with pytest.raises(ReferenceDataError, match=r"district_aliases.csv, row \d+, column resolves_to: unknown district 320199"):
        Reference(target)


def test_missing_file_is_named(tmp_path):
    target = _copy(tmp_path)
    (target / "streets.csv").unlink()
    with pytest.raises(ReferenceDataError, match="streets.csv"):
        Reference(target)
