"""One NG-VI iteration composed of seven modules (one option each).

The modules (one class per option, one interface per module):

====================  ==========================================  ====================
module                options                                     file
====================  ==========================================  ====================
NG estimation         ``stein``, ``more``                         ng_estimation.py
component adaptation  ``fixed``, ``adaptive``                     adaptation.py
sample selection      ``mixture``, ``component``                  sample_selection.py
component update      ``direct``, ``iblr``, ``trust-region``      component_update.py
component step size   ``fixed``, ``decaying``, ``improvement``    component_stepsize.py
weight update         ``direct``, ``trust-region``                weight_update.py
weight step size      ``fixed``, ``decaying``, ``improvement``    weight_stepsize.py
====================  ==========================================  ====================

The iteration is split around the target evaluation: ``propose`` draws the new
samples, ``finish`` takes their target values and gradients and does everything
else. :mod:`.compile` traces these halves (for TensorFlow targets both halves and
the evaluation inside one ``tf.while_loop`` over a chunk of iterations);
:mod:`.run` drives them from the host; :mod:`.design` names the options.

All state lives in one dict of tensors (see :mod:`.mixture`, :mod:`.database`
and each module's docstring); hyperparameters are a second dict of scalar
tensors, so a new setting never retraces.
"""

from .._runtime import tensorflow
from .design import Switch, make_option


class Iteration:
    """The seven modules of one design, composed into one iteration.

    Parameters
    ----------
    design : Design
        One option name per module.
    diagonal : bool
        Diagonal covariances.
    reuse : bool
        Re-use database samples (``ratio_reused > 0``).
    """

    def __init__(self, design, diagonal, reuse=False):
        self.design = design

        def module(name):
            if design == "switched":
                return Switch(name, diagonal, reuse)
            return make_option(name, getattr(design, name), diagonal, reuse)

        self.sampler = module("sample_selection")
        self.estimator = module("ng_estimation")
        self.component_stepsize = module("component_stepsize")
        self.component_update = module("component_update")
        self.weight_stepsize = module("weight_stepsize")
        self.weight_update = module("weight_update")
        self.adaptation = module("component_adaptation")

    @staticmethod
    def _seeds(state, hyper):
        tf = tensorflow()
        fold = tf.random.experimental.stateless_fold_in
        base = fold(hyper["seed"], state["iteration"])
        return fold(base, 0), fold(base, 1)

    def propose(self, state, hyper):
        """New points to evaluate: ``(state, x, component)``."""
        with tensorflow().name_scope("propose"):
            return self.sampler.propose(state, hyper, self._seeds(state, hyper)[0])

    def finish(self, state, hyper, x, component, log_density, grad):
        """Everything after the target evaluation; returns ``(state, record)``."""
        tf = tensorflow()
        # one name scope per module: profiles (tf.profiler) then attribute time to modules
        with tf.name_scope("sample_selection"):
            state, batch = self.sampler.finish(state, hyper, x, component, log_density, grad)
        with tf.name_scope("ng_estimation"):
            state, estimates = self.estimator.estimate_and_update(state, hyper, batch)
        with tf.name_scope("component_stepsize"):
            state, stepsizes = self.component_stepsize.step(state, hyper, estimates)
        with tf.name_scope("component_update"):
            state, _ = self.component_update.update(state, hyper, estimates, stepsizes)
        with tf.name_scope("weight_stepsize"):
            state, weight_step = self.weight_stepsize.step(state, hyper, estimates)
        with tf.name_scope("weight_update"):
            state, _ = self.weight_update.update(state, hyper, estimates, weight_step)
        state = dict(state)
        state["iteration"] = state["iteration"] + 1

        def reset(state, slot_mask):
            state = self.component_stepsize.reset(state, hyper, slot_mask)
            return self.component_update.reset(state, hyper, slot_mask)

        with tf.name_scope("component_adaptation"):
            state = self.adaptation.adapt(state, hyper, estimates,
                                          self._seeds(state, hyper)[1], reset)
        state = dict(state)
        record = {
            "elbo": estimates["elbo"],
            "n_components": tf.reduce_sum(tf.cast(state["active"], tf.int32)),
            "n_evaluations": state["n_evaluations"],
            "n_valid": tf.reduce_sum(tf.cast(batch["valid"], tf.int32)),
            "n_samples": tf.shape(x)[0],
        }
        return state, record
