"""Customer lifetime value: purchase-count models, spend model, CLV and quadrants.

* :class:`BGNBDModel`, :class:`MBGNBDModel`, :class:`ParetoNBDModel` - how
  many purchases a customer will make and whether she is still "alive";
* :class:`GammaGammaModel` - how much a customer spends per purchase;
* :func:`customer_lifetime_value`, :func:`seed_ltv`,
  :func:`predict_customers` - value per customer;
* :class:`LoyaltyProfitQuadrant` - stranger / barnacle / butterfly / true
  friend;
* :func:`summary_from_transactions`, :func:`calibration_and_holdout_data`,
  :func:`calibration_holdout_report` - data preparation and validation.

Models follow the scikit-learn estimator contract: keyword-only
hyper-parameters, ``fit`` returns ``self``, learned state ends with ``_``.
"""

from __future__ import annotations

from ._base import MLEModel, TransactionModel
from ._checks import InvalidInputError
from ._errors import ConvergenceError, NumericalError
from .bgnbd import BGNBDModel
from .data import calibration_and_holdout_data, daily_transactions, summary_from_transactions
from .gammagamma import GammaGammaModel
from .holdout import (
    MODELS,
    CalibrationHoldoutReport,
    calibration_holdout_report,
    make_model,
)
from .ltv import (
    customer_lifetime_value,
    expected_loyalty,
    predict_customers,
    purchase_regularity,
    seed_ltv,
)
from .mbgnbd import MBGNBDModel
from .paretonbd import ParetoNBDModel
from .quadrant import QUADRANTS, LoyaltyProfitQuadrant, QuadrantInfo
from .simulate import (
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_mbgnbd,
    simulate_nbd,
    simulate_paretonbd,
)

__all__ = [
    "MODELS",
    "QUADRANTS",
    "BGNBDModel",
    "CalibrationHoldoutReport",
    "ConvergenceError",
    "GammaGammaModel",
    "InvalidInputError",
    "LoyaltyProfitQuadrant",
    "MBGNBDModel",
    "MLEModel",
    "NumericalError",
    "ParetoNBDModel",
    "QuadrantInfo",
    "TransactionModel",
    "calibration_and_holdout_data",
    "calibration_holdout_report",
    "customer_lifetime_value",
    "daily_transactions",
    "expected_loyalty",
    "make_model",
    "predict_customers",
    "purchase_regularity",
    "seed_ltv",
    "simulate_bgnbd",
    "simulate_gamma_gamma",
    "simulate_mbgnbd",
    "simulate_nbd",
    "simulate_paretonbd",
    "summary_from_transactions",
]
