# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # dynlatch in one sitting
#
# From a weight file to the question's answer: load a trained cell, find every fixed point, draw its bifurcation
# diagram, measure its gradient decay, derive its Jacobian symbolically, train a batch of cells and read a sweep.
#
# This notebook is `examples/tutorial.ipynb`; `examples/tutorial.py` is its jupytext twin (edit either, then
# `jupytext --sync examples/tutorial.ipynb`). `make notebook` runs it from top to bottom at the scale below (about a
# minute, most of it compiling the numba kernels once); the full-scale settings are in the comments.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import dynlatch
from dynlatch import cells, dynamics, tasks
from dynlatch.studies import STUDIES, run_study
from dynlatch.symbolic import derive, system_for_cell

work = Path(tempfile.mkdtemp(prefix="dynlatch-tutorial-"))
torch.manual_seed(0)

# %% [markdown]
# ## 1. Load a weight file
#
# `cells.load` reads Keras (`.keras`, `.h5`, or `kernel` / `recurrent_kernel` / `bias` arrays in `.json` or `.npz`)
# and PyTorch layouts (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`). Here a PyTorch `LSTM(1, 1)` is
# saved as an `.npz` of its state dict, with the forget-gate bias and the candidate's recurrent weight set to give it a
# latch (two stable states): what training a one-unit LSTM to latch produces.

# %%
module = torch.nn.LSTM(1, 1, batch_first=True)
with torch.no_grad():
    module.bias_ih_l0.zero_()
    module.bias_hh_l0.zero_()
    module.bias_ih_l0[1] = 3.0        # forget gate bias b_f (PyTorch gate order i, f, g, o)
    module.weight_hh_l0[2, 0] = 4.0   # candidate's recurrent weight U_c
np.savez(work / "lstm.npz", **{name: p.detach().numpy() for name, p in module.state_dict().items()})

lstm = cells.load(work / "lstm.npz", dtype=torch.float64)
print(lstm)
print({name: round(float(v), 3) for name, v in lstm.named_params().items()})

# %% [markdown]
# `cells.save` writes the same cell in Keras layout (`.json` or `.npz`); `cells.load` reads it back exactly.

# %%
cells.save(lstm, work / "lstm_keras.json")
assert cells.load(work / "lstm_keras.json").named_params()["U_c"].item() == lstm.named_params()["U_c"].item()

# %% [markdown]
# ## 2. Every fixed point
#
# For a one-unit cell `dynamics.fixed_points` reduces the fixed-point condition to one scalar equation in h and finds
# every root by certified subdivision: the list is complete (`guaranteed_complete`), each point with its Jacobian's
# eigenvalues and stability.

# %%
points = dynamics.fixed_points(lstm, periods=(1,))
for p in points:
    print(f"h = {p.state[0]:+.4f}  c = {p.state[1]:+.4f}  stable = {p.stable}  "
          f"|eigenvalues| = {np.abs(p.eigenvalues).round(4)}  complete = {p.guaranteed_complete}")

# %% [markdown]
# ## 3. Bifurcation diagram
#
# `dynamics.branches` follows every fixed point as one parameter moves and locates where the picture changes
# (folds, flips, border collisions of hard gates). Here the candidate's recurrent weight U_c.

# %%
diagram = dynamics.branches(lstm, "U_c", np.linspace(-2.0, 6.0, 81), periods=(1,))
rows = diagram.rows
stable = rows["stable"].astype(bool)
fig, ax = plt.subplots(figsize=(6, 4))
ax.scatter(rows["value"][stable], rows["h"][stable], s=4, label="stable")
ax.scatter(rows["value"][~stable], rows["h"][~stable], s=4, color="tab:red", label="unstable")
for event in diagram.events:
    ax.axvline(event["value"], color="gray", lw=0.8, ls=":")
ax.axvline(lstm.named_params()["U_c"].item(), color="black", ls="--", label="this cell")
ax.set(xlabel="U_c", ylabel="h at a fixed point", title="LSTM(1) fixed points over U_c")
ax.legend()
print([(e["kind"], round(e["value"], 4)) for e in diagram.events])

# %% [markdown]
# ## 4. Gradient decay
#
# How fast does what the first input wrote fade from the gradient? `dynamics.gradient_decay` measures
# log ||ds_T/ds_t|| along a trajectory and predicts its slope from the Jacobian at the attractor the trajectory
# settles in (Bengio, Simard & Frasconi 1994: a robust latch has |eigenvalue| < 1 there, so gradients vanish).

# %%
pulse = torch.zeros(100, 1, dtype=torch.float64)
pulse[0] = 1.0
decay = dynamics.gradient_decay(lstm, torch.zeros(2, dtype=torch.float64), inputs=pulse)
print(f"measured {decay.fitted_log_rate[0]:.4f} per step, predicted {decay.predicted_log_rate[0]:.4f} "
      f"({decay.prediction[0]})")
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(decay.log_norms[0, ::-1])
ax.set(xlabel="T - t", ylabel="log ||ds_T / ds_t||")

# %% [markdown]
# ## 5. The Jacobian, symbolically
#
# `dynlatch.symbolic` derives each cell's map, Jacobian, adjoint and bifurcation conditions with sympy, as LaTeX and
# as compiled code: an oracle independent of the hand-written cells. Here the LSTM's state Jacobian, checked against
# autograd's at the cell's attracting fixed point.

# %%
system = system_for_cell(lstm)
jacobian = derive(system, "jacobian")
print(jacobian.to_latex()[:600])

# %%
attractor = next(p for p in points if p.stable)
theta = system.param_vector(lstm)
symbolic_J = jacobian.lambdify("numpy")(theta, attractor.state, np.zeros(1))
autograd_J = dynamics.jacobian(lstm, torch.as_tensor(attractor.state), torch.zeros(1, dtype=torch.float64))
print(np.asarray(symbolic_J))
assert np.allclose(symbolic_J, autograd_J.numpy().reshape(2, 2), atol=1e-12)

# %% [markdown]
# ## 6. Train a batch of cells
#
# `Model.init` builds M independent models (cell + read-out), each from its own seed, trained as one tensor program.
# The question's set-up: Keras-2 initialisation, the latching task at length T, success = validation accuracy
# >= 0.9. (Full scale: `seeds=range(30)`, `n=10000`, `epochs=5`.)

# %%
data = tasks.latching(length=20, n=2000, seed=0)
results = {}
for kind in ("srnn", "lstm"):
    model = dynlatch.Model.init(kind, seeds=range(8), init="keras2")
    result = dynlatch.train(model, data, epochs=2)
    results[kind] = result.final("val_acc")
    print(kind, "success frequency", (results[kind] >= 0.9).mean(), "val acc", np.round(results[kind], 2))

# %% [markdown]
# ## 7. Read a sweep
#
# Every study is one command (`dynlatch run NAME`); the latching sweep trains the question's grid and stores every
# model. `read_sweep` returns its rows and the trained models as one batched `Model`. (Full scale:
# `dynlatch run latching-sweep`, 2250 models in about two minutes.)

# %%
sweep_folder = work / "latching-sweep"
assert run_study(STUDIES["latching-sweep"], ["--quick", "--quiet", "--out", str(sweep_folder)]) == 0
sweep = dynlatch.read_sweep(sweep_folder)
rows, trained = sweep.models("lstm", succeeded=True)
print(len(rows), "successful LSTMs; T of each:", [r["T"] for r in rows])

# %% [markdown]
# Which of them hold a bit as two stable states? Count each trained model's stable fixed points.

# %%
if rows:
    census = dynamics.fixed_points(trained.cell.to(torch.float64), periods=(1,))
    print("stable fixed points per successful LSTM:", [sum(p.stable for p in pts) for pts in census])
