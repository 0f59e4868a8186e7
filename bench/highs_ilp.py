"""One dense integer program through highspy with exact settings (1 thread,
zero gaps, 1e-9 feasibility): the independent reference of the ILP tests and
benchmark."""
import highspy
import numpy as np


def exact_highs():
    h = highspy.Highs()
    for k, v in (("output_flag", False), ("threads", 1), ("mip_rel_gap", 0.0), ("mip_abs_gap", 0.0),
                 ("mip_feasibility_tolerance", 1e-9), ("primal_feasibility_tolerance", 1e-9)):
        h.setOptionValue(k, v)
    return h


def solve(h, c, A, b, lb, ub):
    """min c'y s.t. A y <= b, lb <= y <= ub, y integer: the optimal objective,
    or None when infeasible."""
    m, n = A.shape
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = c, lb, ub
    lp.row_lower_, lp.row_upper_ = np.full(m, -highspy.kHighsInf), b
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.arange(0, m * n + 1, n, dtype=np.int32)
    lp.a_matrix_.index_ = np.tile(np.arange(n, dtype=np.int32), m)
    lp.a_matrix_.value_ = np.ascontiguousarray(A, dtype=float).ravel()
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h.passModel(lp)
    h.run()
    st = h.getModelStatus()
    if st == highspy.HighsModelStatus.kInfeasible:
        return None
    assert st == highspy.HighsModelStatus.kOptimal, h.modelStatusToString(st)
    return h.getInfo().objective_function_value
