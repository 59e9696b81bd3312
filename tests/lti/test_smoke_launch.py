from tests.conftest import LtiBrowser


def test_instructor_launch_lands_on_teacher_page(browser: LtiBrowser) -> None:
    response = browser.launch()
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert "Algebra I – Period 3" in body
    assert "Teacher" in body
