"""The model-check figures draw what the models say."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from tierwise.clv import calibration_holdout_report
from tierwise.clv.plots import (
    frequency_histogram_data,
    new_axes,
    plot_conditional_expectations,
    plot_cumulative_transactions,
    plot_frequency_histogram,
    plot_incremental_transactions,
    plot_probability_alive_matrix,
    probability_alive_matrix,
)


@pytest.fixture(scope="module")
def report(cdnow_transactions):
    return calibration_holdout_report(cdnow_transactions, "1997-09-30", "1998-06-30")


def test_frequency_histogram(bgnbd, cdnow_summary) -> None:
    table = frequency_histogram_data(bgnbd, cdnow_summary, max_frequency=7)
    counts = np.bincount(np.minimum(cdnow_summary["frequency"], 7))
    np.testing.assert_array_equal(table["actual"], counts)
    assert table["model"].sum() == pytest.approx(len(cdnow_summary))
    expected_zero = bgnbd.probability_of_n_purchases_up_to_time(cdnow_summary["T"], 0).sum()
    assert table["model"].iloc[0] == pytest.approx(expected_zero)
    ax = plot_frequency_histogram(bgnbd, cdnow_summary, max_frequency=7)
    actual_bars, model_bars = ax.containers
    np.testing.assert_allclose([b.get_height() for b in actual_bars], counts)
    np.testing.assert_allclose([b.get_height() for b in model_bars], table["model"])
    assert isinstance(ax.figure.canvas, FigureCanvasAgg)


def test_tracking_plots(report) -> None:
    ax = plot_cumulative_transactions(report)
    actual, predicted = ax.get_lines()[:2]
    np.testing.assert_allclose(actual.get_ydata(), report.tracking["actual_cumulative"])
    np.testing.assert_allclose(predicted.get_ydata(), report.tracking["predicted_cumulative"])
    assert actual.get_ydata()[-1] == 4339
    calibration_line = ax.get_lines()[2]
    assert calibration_line.get_xdata()[0] == 39
    ax = plot_incremental_transactions(report, ax=new_axes())
    actual, predicted = ax.get_lines()[:2]
    np.testing.assert_allclose(actual.get_ydata(), report.tracking["actual"])
    np.testing.assert_allclose(predicted.get_ydata(), report.tracking["predicted"])
    assert predicted.get_ydata().sum() == pytest.approx(report.cumulative_predicted)


def test_conditional_expectation_plot(report) -> None:
    ax = plot_conditional_expectations(report)
    actual, predicted = ax.get_lines()
    np.testing.assert_allclose(actual.get_ydata(), report.conditional["actual"])
    np.testing.assert_allclose(predicted.get_ydata(), report.conditional["predicted"])
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "7+"
    data = report.data
    zero = data["frequency_cal"] == 0
    assert report.conditional.loc[0, "actual"] == pytest.approx(
        data.loc[zero, "frequency_holdout"].mean()
    )


def test_probability_alive_heatmap(bgnbd) -> None:
    table = probability_alive_matrix(bgnbd, max_frequency=10, T=38.86, n_recency=20)
    assert table.shape == (11, 20)
    assert np.isnan(table.loc[0].to_numpy()[1:]).all()
    expected = bgnbd.conditional_probability_alive(5, table.columns[4], 38.86)
    assert table.loc[5].iloc[4] == pytest.approx(float(expected))
    ax = plot_probability_alive_matrix(bgnbd, max_frequency=10, T=38.86, n_recency=20)
    image = ax.get_images()[0]
    np.testing.assert_allclose(np.ma.filled(image.get_array(), np.nan), table.to_numpy())
    with pytest.raises(ValueError, match="T"):
        probability_alive_matrix(bgnbd)


def test_figures_render(report, bgnbd, cdnow_summary, tmp_path) -> None:
    ax = plot_frequency_histogram(bgnbd, cdnow_summary)
    path = tmp_path / "hist.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000


def test_report_to_dict(report) -> None:
    figures = report.to_dict()
    assert figures["holdout_actual"] == 1882.0
    assert figures["calibration_end"] == "1997-09-30"
    assert figures["model"] == "BGNBDModel"
    assert set(figures["params"]) == {"r", "alpha", "a", "b"}
